/**
 * LLM and agent usage read from `agent_logs` at read time (seed 004's token usage and latency
 * tracking): one row per (player, model, provider) with the calls, the token sums and the latency's
 * mean, maximum and 95th percentile. A session's rows are a range of agent_logs_session_seq_idx
 * (session_id leads it), a player's of agent_logs_player_id_index.
 */

/** One (player, model, provider) of the matching agent_logs rows. */
export interface AgentUsageRow {
  player_id: string | null;
  model: string;
  provider: string | null;
  calls: number;
  /** Sessions these calls were made in. */
  sessions: number;
  /** Sums of the reported counts (calls that reported none add 0); bigint, read as text. */
  prompt_tokens: string;
  completion_tokens: string;
  thinking_tokens: string;
  /** Over the calls that reported a latency; null when none did. */
  latency_mean_ms: number | null;
  latency_max_ms: number | null;
  latency_p95_ms: number | null;
}

const usage = (where: string) => `
SELECT player_id, model, provider, count(*)::int AS calls, count(DISTINCT session_id)::int AS sessions,
  coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
  coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens,
  coalesce(sum(thinking_tokens), 0)::bigint AS thinking_tokens,
  avg(latency_ms)::float8 AS latency_mean_ms, max(latency_ms)::float8 AS latency_max_ms,
  (percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms))::float8 AS latency_p95_ms
FROM agent_logs WHERE ${where}
GROUP BY player_id, model, provider
ORDER BY player_id NULLS LAST, model, provider NULLS FIRST`;

/** $1 session id. Result: AgentUsageRow per (player, model, provider) of the session's calls. */
export const SESSION_AGENT_USAGE_SQL = usage('session_id = $1');

/** $1 player id. Result: AgentUsageRow per (model, provider) of the player's calls across sessions. */
export const PLAYER_AGENT_USAGE_SQL = usage('player_id = $1');
