/**
 * Player reads (stats, agent usage), erasure and export.
 *
 * Erasure runs in a worker (src/ops/erasure-requests.ts): this role only records the request and reads
 * its outcome, so the API's database role needs no right to rewrite the tables an erasure touches. The
 * export streams NDJSON from the read URL (src/ops/export-player.ts).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../errors.ts';
import { playerAgentUsage, playerStats } from '../../aggregates/read.ts';
import { ERASURE_KEY_MISSING } from '../../ops/erase-player.ts';
import { erasureRequestState, requestErasure, waitErasureRequest, type ErasureRequestState } from '../../ops/erasure-requests.ts';
import { exportPlayer } from '../../ops/export-player.ts';
import { noTenantRestriction, tenantOf } from '../access.ts';
import { errorBody, idParam, read } from '../schemas.ts';
import type { ApiContext } from '../context.ts';

const admin = { config: { scope: 'admin' as const } };

/** A request's outcome as POST /erase answers it: the report (200), still pending (202), or the error. */
function erasureAnswer(s: ErasureRequestState): { status: number; body: Record<string, unknown> } {
  if (s.status === 'done') return { status: 200, body: { requestId: s.requestId, ...s.report } };
  if (s.status === 'pending') return { status: 202, body: { requestId: s.requestId, status: 'pending' } };
  if (s.error === ERASURE_KEY_MISSING)
    throw new ApiError(503, ERASURE_KEY_MISSING, `erasure request ${s.requestId} not run: the worker has no GP_ERASURE_KEY; set it and send the request again`);
  throw new ApiError(500, 'erasure_failed', `erasure request ${s.requestId} failed (${s.error}); the worker's log says why; send it again`);
}

export function playerRoutes(app: FastifyInstance, { cfg, orm, reader }: ApiContext): void {
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
      ...admin,
      schema: {
        summary: "Erase a player's personal data (names, chat, prompts, move and game-event data, documents, dead letters, queued jobs); the id becomes a pseudonym",
        description:
          'Run by a worker (GP_JOBS on, GP_ERASURE_KEY set): 200 with the report once done, 202 `{requestId, status: "pending"}` when it is not done within `waitMs` (then GET /v1/erasures/{requestId}). ' +
          'Idempotent (a repeat reports `changed: false`) and audited (the `erasures` table: the key id, the HMAC of the player id). `queue.inFlight` > 0: call again once those jobs are stored.',
        params: idParam,
        querystring: { type: 'object', properties: { waitMs: { type: 'integer', minimum: 0, maximum: 60000, default: 30000 } }, additionalProperties: false },
        response: { '4xx': errorBody, '5xx': errorBody },
      },
    },
    async (req, reply) => {
      noTenantRestriction(req, 'erase a player (players span tenants)');
      const { id } = req.params as { id: string };
      const requestId = await requestErasure(orm, id, `api-key:${req.apiKey?.id ?? 'unknown'}`);
      const a = erasureAnswer(await waitErasureRequest(orm, requestId, (req.query as { waitMs: number }).waitMs));
      return reply.code(a.status).send(a.body);
    },
  );

  app.get(
    '/v1/erasures/:requestId',
    {
      ...admin,
      schema: {
        summary: 'An erasure request: pending, done (with its report) or failed (with its error code)',
        params: { type: 'object', required: ['requestId'], properties: { requestId: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } } },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      noTenantRestriction(req, 'read erasure requests');
      const { requestId } = req.params as { requestId: number };
      const s = await erasureRequestState(orm, requestId);
      if (!s) throw new ApiError(404, 'not_found', `no erasure request ${requestId}`);
      return s;
    },
  );

  app.get(
    '/v1/players/:id/export',
    {
      ...admin,
      schema: {
        summary: 'Every row about a player, streamed as NDJSON: a header, one line per row, a trailer with the counts (the right of access)',
        params: idParam,
        response: { '4xx': errorBody },
      },
    },
    async (req, reply) => {
      noTenantRestriction(req, 'export a player (players span tenants)');
      const { id } = req.params as { id: string };
      const lines = exportPlayer(cfg.databaseReadUrl ?? cfg.databaseUrl, id);
      // The header is read before answering, so a database that cannot be reached is an error, not a cut stream.
      const first = await lines.next();
      const body = Readable.from((async function* () {
        if (!first.done) yield `${JSON.stringify(first.value)}\n`;
        for await (const line of lines) yield `${JSON.stringify(line)}\n`;
      })());
      return reply.type('application/x-ndjson').send(body);
    },
  );
}
