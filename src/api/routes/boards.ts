/**
 * Boards and statistics across sessions: leaderboards and daily statistics.
 */
import type { FastifyInstance } from 'fastify';
import { dailyStats, leaderboard } from '../../aggregates/read.ts';
import { systemClock } from '../../clock.ts';
import { METRIC_NAMES, type Metric } from '../../db/sql/aggregates.ts';
import { noTenantRestriction, tenantOf } from '../access.ts';
import { errorBody, limitQ, read } from '../schemas.ts';
import type { ApiContext } from '../context.ts';

export function boardRoutes(app: FastifyInstance, { cfg, reader }: ApiContext): void {
  app.get(
    '/v1/leaderboard',
    {
      config: { scope: 'read' },
      schema: {
        summary: "A leaderboard: the top, or the players around one; a tenant's with `tenant` (a tenant-restricted key: always its own)",
        querystring: {
          type: 'object',
          properties: {
            by: { type: 'string', enum: METRIC_NAMES, default: 'xp', description: 'best_score: the highest score of the players\' results (player.outcome `score`)' },
            period: { type: 'string', maxLength: 32 },
            game: { type: 'string', maxLength: 128 },
            around: { type: 'string', maxLength: 256 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            tenant: { type: 'string', minLength: 1, maxLength: 128, description: "this tenant's board: its confined sessions (docs/http.md, Tenants); a tenant-restricted key always reads its own" },
          },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const q = req.query as { by: Metric; period?: string; game?: string; around?: string; limit: number; tenant?: string };
      // A tenant-restricted key reads its tenant's board, never the global one.
      const tenant = tenantOf(req, q.tenant);
      return leaderboard(reader, { ...q, ...(tenant !== undefined ? { tenant } : {}), timeZone: cfg.statsTimeZone });
    },
  );

  app.get(
    '/v1/stats/daily',
    {
      ...read,
      schema: {
        summary: 'Per day (GP_STATS_TZ): sessions created, started, finished, abandoned, mean duration, players; of one game type with `game`',
        querystring: {
          type: 'object',
          properties: { days: limitQ(3660, 7), game: { type: 'string', minLength: 1, maxLength: 128, description: 'only the sessions of this game type' } },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      noTenantRestriction(req, 'read daily stats (they span tenants)');
      const q = req.query as { days: number; game?: string };
      return dailyStats(reader, q.days, cfg.statsTimeZone, systemClock, { ...(q.game !== undefined ? { game: q.game } : {}) });
    },
  );
}
