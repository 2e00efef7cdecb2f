/**
 * A session's history across every event table, in sequence order, each row rebuilt in the
 * contract's wire form (`data` as the producer sent it, typed columns folded back in). Each branch
 * is a range scan of that table's (session_id, seq) index.
 *
 * $1: session id, $2: seq after which to start (exclusive), $3: last seq (inclusive), $4: limit.
 * Result: id, type, seq, at, player, data.
 */
const strip = (o: string) => `jsonb_strip_nulls(${o})`;
const branch = (table: string, data: string) =>
  `SELECT id, type, seq, at, player_id AS player, ${data} AS data FROM ${table} WHERE session_id = $1 AND seq > $2 AND seq <= $3`;

export const HISTORY_SQL = `
SELECT id, type, seq, at, player, data FROM (
  ${branch('session_events', 'data')}
  UNION ALL ${branch('participant_events', strip("coalesce(data, '{}'::jsonb) - 'meta' || jsonb_build_object('role', role, 'team', team, 'position', position, 'outcome', outcome, 'xp', xp, 'score', score, 'meta', data->'meta')"))}
  UNION ALL ${branch('moves', strip("jsonb_build_object('action', action, 'round', round, 'turn', turn, 'data', data)"))}
  UNION ALL ${branch('votes', "jsonb_strip_nulls(jsonb_build_object('round', round, 'kind', kind, 'meta', data)) || jsonb_build_object('target', target_id)")}
  UNION ALL ${branch('chat_messages', strip("jsonb_build_object('text', text, 'channel', channel, 'round', round, 'meta', data)"))}
  UNION ALL ${branch('task_logs', strip("jsonb_build_object('taskType', task_type, 'xp', xp, 'fake', fake, 'description', description, 'meta', data)"))}
  UNION ALL ${branch('turn_results', strip("jsonb_build_object('turn', turn, 'round', round, 'results', results, 'state', state, 'patch', patch, 'stateHash', state_hash)"))}
  UNION ALL ${branch('agent_logs', strip("jsonb_build_object('model', model, 'provider', provider, 'agent', agent, 'turn', turn, 'prompt', prompt, 'response', response, 'promptChars', prompt_chars, 'responseChars', response_chars, 'promptTokens', prompt_tokens, 'completionTokens', completion_tokens, 'thinkingTokens', thinking_tokens, 'latencyMs', latency_ms, 'meta', data)"))}
  UNION ALL SELECT id, type, seq, at, player_id AS player, ${strip("jsonb_build_object('tenant', tenant, 'expiresAt', expires_at, 'reason', reason, 'meta', data)")} AS data
    FROM queue_events WHERE session_id = $1 AND seq > $2 AND seq <= $3
) h ORDER BY seq, id LIMIT $4`;

/** $1: session id. Result: the session row. */
export const SESSION_SQL = `SELECT * FROM sessions WHERE id = $1`;

/** $1: session id. Result: participants by position, then join time. */
export const PARTICIPANTS_SQL = `
SELECT player_id, role, team, position, name, joined_at, last_joined_at, left_at, outcome, xp, score,
  (left_at IS NULL OR last_joined_at > left_at) AS present
FROM session_participants WHERE session_id = $1 ORDER BY position NULLS LAST, joined_at, player_id`;

/** $1: session id. Result: the live state row, if any. */
export const STATE_SQL = `SELECT state, turn, seq, updated_at FROM session_states WHERE session_id = $1`;

/** $1: session id. Result: join-queue entries naming the session, waiting ones first. */
export const SESSION_QUEUE_SQL = `
SELECT tenant, player_id, entered_at, left_at, expires_at, data,
  coalesce(entered_at > coalesce(left_at, '-infinity'), false) AS waiting
FROM join_queue_entries WHERE session_id = $1 ORDER BY waiting DESC, entered_at`;

/** $1: tenant or null, $2: game type or null, $3: cursor (last id seen, '' to start), $4: limit. Result: unfinished sessions by id. */
export const ACTIVE_SESSIONS_SQL = `
SELECT id FROM sessions
WHERE status IN ('created', 'started') AND ($1::text IS NULL OR tenant = $1) AND ($2::text IS NULL OR game_type = $2) AND id > $3
ORDER BY id LIMIT $4`;

/** $1: only unfinished, $2: tenant or null, $3: limit. Result: newest sessions first. */
export const LIST_SESSIONS_SQL = `
SELECT id, tenant, game_type, status, event_count, last_seq, applied_seq, gap_since, last_event_at FROM sessions
WHERE (NOT $1::boolean OR status IN ('created', 'started')) AND ($2::text IS NULL OR tenant = $2)
ORDER BY last_event_at DESC, id LIMIT $3`;
