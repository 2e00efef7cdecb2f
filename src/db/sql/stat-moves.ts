/**
 * SQL of a session's statistics moving between scopes: when an earlier-positioned session.created
 * arrives late and changes what decides the session's scopes (src/derive/scopes.ts), its whole
 * contribution leaves the old scopes and joins the new ones, in the transaction that changed it. A new
 * game type moves the game scope only (the others stay: GAME_CONTRIBUTIONS_SQL); a new confinement or
 * tenant of a confined session moves every scope, periods included (SESSION_CONTRIBUTIONS_SQL). A
 * maximum cannot be subtracted, so the scopes left behind get last_played_at recomputed
 * (RESET_LAST_PLAYED_SQL, by the fold) and best_score too (RECOMPUTE_BEST_SQL).
 */
import { FAMILY_TABLES, PLAYER_STAT_FAMILIES } from '../families.ts';
import { tenantScopeSql, statTenantSql } from '../../derive/scopes.ts';
import { keyScopeExprs, periodScopeExprs } from './aggregates.ts';

/**
 * The whole contribution of each participant of sessions to one game scope, as their rows stand now:
 * subtracted from the old game's scope before a session's game type changes, added to the new one's
 * after. $1: JSON [{session_id, scope}] (the scope: `game:<type>`, or a confined session's tenant's).
 */
export const GAME_CONTRIBUTIONS_SQL = `
SELECT p.player_id, ARRAY[x.scope] AS scopes,
  (p.eff_outcome IS NOT NULL)::int AS games, (p.eff_outcome = 'win')::int AS wins, (p.eff_outcome = 'loss')::int AS losses,
  (p.eff_outcome = 'draw')::int AS draws, p.task_xp + coalesce(p.eff_xp, 0) AS xp, p.tasks, p.fake_tasks, p.votes, p.last_at,
  -- Its score leaves one game scope and joins the other.
  (p.outcome IS NOT NULL AND p.score IS NOT NULL) AS recompute_best
FROM json_to_recordset($1::json) AS x(session_id text, scope text) JOIN session_participants p ON p.session_id = x.session_id
ORDER BY p.player_id`;

const CONTRIBUTING_TABLES = [...PLAYER_STAT_FAMILIES].map((f) => FAMILY_TABLES[f].table);

/**
 * The whole contribution of sessions under a given key (game type, and the tenant of a confined
 * session), per player and set of scopes, each piece in the scopes of its own time: effective outcomes
 * (at eff_at), tasks and votes, participant events (last played), and the scopes whose best score a
 * counted score touches (`recompute_best`). Read before the participants take the transaction's events
 * (with $3, the ids of the events the transaction inserted, left out) it is the contribution before
 * the transaction, subtracted from the old key's scopes; read after (with $3 empty) it is added to the
 * new key's. $1: JSON [{session_id, tenant, game_type}], $2: GP_STATS_TZ, $3: uuid[] of events to leave out.
 */
export const SESSION_CONTRIBUTIONS_SQL = `
WITH x AS (SELECT * FROM json_to_recordset($1::json) AS x(session_id text, tenant text, game_type text)),
c AS (
  SELECT p.session_id, p.player_id, p.eff_at AS at, 1 AS games, (p.eff_outcome = 'win')::int AS wins, (p.eff_outcome = 'loss')::int AS losses,
    (p.eff_outcome = 'draw')::int AS draws, coalesce(p.eff_xp, 0)::bigint AS xp, 0 AS tasks, 0 AS fake_tasks, 0 AS votes,
    NULL::timestamptz AS last_at, false AS best
  FROM session_participants p WHERE p.session_id IN (SELECT session_id FROM x) AND p.eff_outcome IS NOT NULL
  UNION ALL SELECT p.session_id, p.player_id, p.outcome_at, 0, 0, 0, 0, 0, 0, 0, 0, NULL, true
  FROM session_participants p WHERE p.session_id IN (SELECT session_id FROM x) AND p.outcome IS NOT NULL AND p.score IS NOT NULL
  UNION ALL SELECT session_id, player_id, at, 0, 0, 0, 0, xp::bigint, (NOT fake)::int, fake::int, 0, at, false
  FROM task_logs WHERE session_id IN (SELECT session_id FROM x) AND player_id IS NOT NULL AND NOT (id = ANY($3::uuid[]))
  UNION ALL SELECT session_id, player_id, at, 0, 0, 0, 0, 0, 0, 0, 1, at, false
  FROM votes WHERE session_id IN (SELECT session_id FROM x) AND player_id IS NOT NULL AND NOT (id = ANY($3::uuid[]))
  UNION ALL SELECT session_id, player_id, at, 0, 0, 0, 0, 0, 0, 0, 0, at, false
  FROM participant_events WHERE session_id IN (SELECT session_id FROM x) AND player_id IS NOT NULL AND NOT (id = ANY($3::uuid[])))
SELECT c.player_id, sc.scopes, sum(c.games)::int AS games, sum(c.wins)::int AS wins, sum(c.losses)::int AS losses, sum(c.draws)::int AS draws,
  sum(c.xp)::bigint AS xp, sum(c.tasks)::int AS tasks, sum(c.fake_tasks)::int AS fake_tasks, sum(c.votes)::int AS votes, max(c.last_at) AS last_at,
  bool_or(c.best) AS recompute_best
FROM c JOIN x ON x.session_id = c.session_id
CROSS JOIN LATERAL (SELECT array_remove(ARRAY[${keyScopeExprs('x.tenant', 'x.game_type', 'c.at', '$2::text').join(', ')}], NULL) AS scopes) sc
GROUP BY c.player_id, sc.scopes ORDER BY c.player_id`;

/**
 * last_played_at of (player, scope) rows recomputed (after the fold applied deltas marked reset_last):
 * the latest activity of the player in the sessions that count in the scope. An all-time or game scope
 * reads the participants' last_at; a period scope (`period`) reads the player's events, since a
 * session's activity may span periods. $1: JSON [{player_id, scope, period}], $2: GP_STATS_TZ.
 */
export const RESET_LAST_PLAYED_SQL = `
UPDATE player_stats s SET last_played_at = CASE WHEN x.period THEN (
    SELECT max(c.at) FROM (
      ${CONTRIBUTING_TABLES.map((t) => `SELECT session_id, at FROM ${t} WHERE player_id = x.player_id`).join('\n      UNION ALL ')}) c
    JOIN sessions ss ON ss.id = c.session_id
    WHERE x.scope IN (${periodScopeExprs('c.at', '$2::text').map((e) => tenantScopeSql(statTenantSql('ss'), e)).join(', ')}))
  ELSE (
    SELECT max(p.last_at) FROM session_participants p JOIN sessions ss ON ss.id = p.session_id
    WHERE p.player_id = x.player_id AND x.scope IN (${tenantScopeSql(statTenantSql('ss'), `'all'`)}, ${tenantScopeSql(statTenantSql('ss'), `'game:' || ss.game_type`)})) END
FROM json_to_recordset($1::json) AS x(player_id text, scope text, period boolean)
WHERE s.player_id = x.player_id AND s.scope = x.scope`;
