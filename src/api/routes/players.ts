/**
 * Player reads (stats, agent usage) and erasure.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../errors.ts';
import { playerAgentUsage, playerStats } from '../../aggregates/read.ts';
import { erasePlayer } from '../../ops/erase-player.ts';
import { queueConnection } from '../../queue/backend.ts';
import { noTenantRestriction, tenantOf } from '../access.ts';
import { errorBody, idParam, read } from '../schemas.ts';
import type { ApiContext } from '../context.ts';

export function playerRoutes(app: FastifyInstance, { cfg, orm, reader, redis }: ApiContext): void {
  app.get(
    '/v1/players/:id/stats',
    {
      config: { scope: 'read' },
      schema: {
        summary: "A player's totals, per game type, rating and ranks; within one tenant with `tenant` (a tenant-restricted key: always its own)",
        params: idParam,
        querystring: {
          type: 'object',
          properties: { tenant: { type: 'string', minLength: 1, maxLength: 128, description: "the player's statistics in this tenant's confined sessions (docs/http.md, Tenants)" } },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      // A tenant-restricted key reads its tenant's statistics of the player, never the global ones.
      const tenant = tenantOf(req, (req.query as { tenant?: string }).tenant);
      const s = await playerStats(reader, id, tenant !== undefined ? { tenant } : {});
      if (!s) throw new ApiError(404, 'not_found', `no player ${id}`);
      return s;
    },
  );

  app.get(
    '/v1/players/:id/agents',
    {
      ...read,
      schema: {
        summary: "A player's LLM/agent calls across sessions per model and provider: calls, token sums, latency mean, max and p95",
        params: idParam,
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      noTenantRestriction(req, "read a player's agent usage (players span tenants)");
      const { id } = req.params as { id: string };
      const usage = await playerAgentUsage(reader, id);
      if (!usage) throw new ApiError(404, 'not_found', `no player ${id}`);
      return usage;
    },
  );

  app.post(
    '/v1/players/:id/erase',
    {
      config: { scope: 'admin' },
      schema: {
        summary: "Erase a player's personal data (names, chat, prompts, documents, dead letters, queued jobs); the id becomes a pseudonym",
        description: 'Idempotent (a repeat reports `changed: false`) and audited (the `erasures` table: the key id, the SHA-256 of the player id). `queue.inFlight` > 0: call again once those jobs are stored.',
        params: idParam,
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      noTenantRestriction(req, 'erase a player (players span tenants)');
      const { id } = req.params as { id: string };
      // The queue's own connection: the API's Redis client (shared), or the database URL.
      const connection = redis ?? queueConnection(cfg);
      return erasePlayer(orm, id, { requestedBy: `api-key:${req.apiKey?.id ?? 'unknown'}`, queue: { connection, queueName: cfg.queueName, prefix: cfg.queuePrefix } });
    },
  );
}
