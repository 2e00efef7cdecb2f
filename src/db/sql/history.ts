/**
 * A session's history across every event table, in sequence order, each row rebuilt in the
 * contract's wire form (`data` as the producer sent it, typed columns folded back in). Each branch
 * is a range scan of that table's (session_id, seq) index.
 *
 * $1: session id, $2: seq after which to start (exclusive), $3: last seq (inclusive), $4: limit.
 * Result: id, type, seq, at, player, data.
 */
/**
 * Per event table, the SQL that rebuilds an event's wire-form `data` from its row (typed columns
 * folded back in, absent fields left out; a vote's null target is kept: it means skip).
 */
const WIRE_DATA: [table: string, data: string][] = [
  ['session_events', 'e.data'],
  ['participant_events', "jsonb_strip_nulls(coalesce(e.data, '{}'::jsonb) - 'meta' || jsonb_build_object('role', e.role, 'team', e.team, 'position', e.position, 'outcome', e.outcome, 'xp', e.xp, 'score', e.score, 'meta', e.data->'meta'))"],
  ['moves', "jsonb_strip_nulls(jsonb_build_object('action', e.action, 'round', e.round, 'turn', e.turn, 'data', e.data))"],
  ['votes', "jsonb_strip_nulls(jsonb_build_object('round', e.round, 'kind', e.kind, 'meta', e.data)) || jsonb_build_object('target', e.target_id)"],
  ['chat_messages', "jsonb_strip_nulls(jsonb_build_object('text', e.text, 'channel', e.channel, 'round', e.round, 'meta', e.data))"],
  ['task_logs', "jsonb_strip_nulls(jsonb_build_object('taskType', e.task_type, 'xp', e.xp, 'fake', e.fake, 'description', e.description, 'meta', e.data))"],
  ['turn_results', "jsonb_strip_nulls(jsonb_build_object('turn', e.turn, 'round', e.round, 'results', e.results, 'state', e.state, 'patch', e.patch, 'stateHash', e.state_hash))"],
  ['agent_logs', "jsonb_strip_nulls(jsonb_build_object('model', e.model, 'provider', e.provider, 'agent', e.agent, 'turn', e.turn, 'prompt', e.prompt, 'response', e.response, 'promptChars', e.prompt_chars, 'responseChars', e.response_chars, 'promptTokens', e.prompt_tokens, 'completionTokens', e.completion_tokens, 'thinkingTokens', e.thinking_tokens, 'latencyMs', e.latency_ms, 'meta', e.data))"],
  ['queue_events', "jsonb_strip_nulls(jsonb_build_object('tenant', e.tenant, 'expiresAt', e.expires_at, 'reason', e.reason, 'meta', e.data))"],
];

/** The union over every event table of session $1's events with after < seq <= upTo, first `limit` (SQL expressions). */
function historySql(after: string, upTo: string, limit: string): string {
  const branches = WIRE_DATA.map(
    ([table, data]) => `SELECT e.id, e.type, e.seq, e.at, e.player_id AS player, ${data} AS data FROM ${table} e WHERE e.session_id = $1 AND e.seq > ${after} AND e.seq <= ${upTo}`,
  );
  return `SELECT id, type, seq, at, player, data FROM (\n  ${branches.join('\n  UNION ALL ')}\n) h ORDER BY seq, id LIMIT ${limit}`;
}

export const HISTORY_SQL = historySql('$2', '$3', '$4');

/**
 * Recovery's tail of one session, read in the same round trip as the rest: the events after the
 * older of its live state and its newest hashed snapshot. $1 session id, $2 limit.
 */
export const RECOVERY_TAIL_SQL = historySql(
  `(SELECT least(coalesce((SELECT seq FROM session_states WHERE session_id = $1), 0), coalesce((SELECT max(seq) FROM session_snapshots WHERE session_id = $1 AND hash IS NOT NULL), 0)))`,
  '9223372036854775807',
  '$2',
);

/*
 * Recovery reads many sessions at once (a restarted game server recovers hundreds): every statement
 * below takes $1 = session ids (text[]) and returns rows for all of them.
 */

/** Result: the session rows. */
export const SESSIONS_BY_ID_SQL = `SELECT * FROM sessions WHERE id = ANY($1::text[])`;

/** Result: participants by session, position, then join time. */
export const PARTICIPANTS_SQL = `
SELECT session_id, player_id, role, team, position, name, joined_at, last_joined_at, left_at, outcome, xp, score,
  (left_at IS NULL OR last_joined_at > left_at) AS present
FROM session_participants WHERE session_id = ANY($1::text[]) ORDER BY session_id, position NULLS LAST, joined_at, player_id`;

/** Result: the live state rows. */
export const STATE_SQL = `SELECT session_id, state, turn, seq, updated_at FROM session_states WHERE session_id = ANY($1::text[])`;

/** Result: join-queue entries naming the sessions, waiting ones first. */
export const SESSION_QUEUE_SQL = `
SELECT session_id, tenant, player_id, entered_at, left_at, expires_at, data,
  coalesce(entered_at > coalesce(left_at, '-infinity'), false) AS waiting
FROM join_queue_entries WHERE session_id = ANY($1::text[]) ORDER BY session_id, waiting DESC, entered_at`;

/**
 * The events of many sessions after a seq each. $1: JSON array of {session_id, after}, $2: limit per
 * session. Result: session_id, id, type, seq, at, player, data in (session, seq) order.
 */
export const TAILS_SQL = `
SELECT session_id, id, type, seq, at, player, data FROM (
  SELECT h.*, row_number() OVER (PARTITION BY h.session_id ORDER BY h.seq, h.id) AS n FROM (
${WIRE_DATA.map(([t, d]) => `    SELECT e.session_id, e.id, e.type, e.seq, e.at, e.player_id AS player, ${d} AS data FROM json_to_recordset($1::json) AS r(session_id text, after bigint) JOIN ${t} e ON e.session_id = r.session_id AND e.seq > r.after`).join('\n    UNION ALL\n')}
  ) h
) x WHERE n <= $2 ORDER BY session_id, seq, id`;

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
