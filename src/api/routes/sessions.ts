/**
 * Session reads: recovery, waiting for persistence, active and recent sessions, replay, a session's board, snapshots and agent usage.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { recoverActiveSessions, recoverSession, replay } from '../../recovery/recover.ts';
import { waitPersisted } from '../../recovery/wait.ts';
import { recentSessions, sessionAgentUsage, sessionLeaderboard } from '../../aggregates/read.ts';
import { listSnapshots } from '../../snapshots/list.ts';
import { noSession, sessionTenantCheck, tenantOf } from '../access.ts';
import { errorBody, idParam, limitQ, read } from '../schemas.ts';
import type { ApiContext } from '../context.ts';

export function sessionRoutes(app: FastifyInstance, { cfg, reader, producer, store }: ApiContext): void {
  app.get(
    '/v1/sessions/:id/recover',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Recover one session: live state, newest verified snapshot, the tail after it, participants',
        params: idParam,
        querystring: {
          type: 'object',
          properties: {
            issued: { type: 'integer', minimum: 0 },
            tailLimit: { type: 'integer', minimum: 1, maximum: 100_000 },
            documents: { type: 'string', maxLength: 2048, description: '`all`, or collections separated by commas: include the session\'s documents' },
          },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const q = req.query as { issued?: number; tailLimit?: number; documents?: string };
      await sessionTenantCheck(reader, req, id);
      const documents = q.documents === undefined || q.documents === '' ? undefined : q.documents === 'all' ? (true as const) : q.documents.split(',');
      const rec = await recoverSession(reader, id, {
        ...(q.issued !== undefined ? { issuedSeq: q.issued } : {}),
        ...(q.tailLimit ? { tailLimit: q.tailLimit } : {}),
        ...(documents ? { documents } : {}),
      });
      if (!rec) throw noSession(id);
      return rec;
    },
  );

  app.get(
    '/v1/sessions/:id/wait',
    {
      config: { scope: 'read' },
      schema: {
        summary: 'Wait until a session is persisted and folded through a seq, or through the last seq issued for it',
        params: idParam,
        querystring: {
          type: 'object',
          required: ['seq'],
          properties: {
            seq: {
              anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', enum: ['issued'] }],
              description: 'A seq, or `issued`: the last seq any producer of the deployment issued for the session (its sequence counter), for a game server that restarted without knowing its own',
            },
            timeoutMs: { type: 'integer', minimum: 0, maximum: 60_000, default: 10_000 },
          },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const q = req.query as { seq: number | 'issued'; timeoutMs: number };
      await sessionTenantCheck(reader, req, id, { store, prefix: cfg.queuePrefix });
      // The counter in Redis or PostgreSQL (the queue backend's), or what this replica issued if higher.
      const seq = q.seq === 'issued' ? await producer.lastSeq(id) : q.seq;
      return { seq, ...(await waitPersisted(reader, id, seq, { timeoutMs: q.timeoutMs })) };
    },
  );

  app.get(
    '/v1/sessions',
    {
      ...read,
      schema: {
        summary: 'Recover the active sessions (not ended), a page at a time: what a restarted game server resumes',
        querystring: {
          type: 'object',
          properties: { tenant: { type: 'string', maxLength: 128 }, gameType: { type: 'string', maxLength: 128 }, cursor: { type: 'string', maxLength: 256 }, limit: limitQ(1000, 100), tailLimit: { type: 'integer', minimum: 1, maximum: 100_000 } },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const q = req.query as { tenant?: string; gameType?: string; cursor?: string; limit: number; tailLimit?: number };
      const tenant = tenantOf(req, q.tenant);
      return recoverActiveSessions(reader, { ...q, ...(tenant !== undefined ? { tenant } : {}) });
    },
  );

  app.get(
    '/v1/sessions/recent',
    {
      ...read,
      schema: {
        summary: 'The latest sessions, newest first',
        querystring: { type: 'object', properties: { tenant: { type: 'string', maxLength: 128 }, limit: limitQ(1000, 20) }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const q = req.query as { tenant?: string; limit: number };
      const tenant = tenantOf(req, q.tenant);
      return recentSessions(reader, { limit: q.limit, ...(tenant !== undefined ? { tenant } : {}) });
    },
  );

  app.get(
    '/v1/sessions/:id/replay',
    {
      ...read,
      schema: {
        summary: "A session's events in sequence order, streamed as NDJSON (one event per line)",
        params: idParam,
        querystring: {
          type: 'object',
          properties: { from: { type: 'integer', minimum: 0 }, to: { type: 'integer', minimum: 0 }, after: { type: 'string', maxLength: 128 } },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const q = req.query as { from?: number; to?: number; after?: string };
      await sessionTenantCheck(reader, req, id);
      const events = replay(reader, id, { ...(q.from !== undefined ? { fromSeq: q.from } : {}), ...(q.to !== undefined ? { toSeq: q.to } : {}), ...(q.after ? { after: q.after } : {}) });
      const lines = Readable.from((async function* () {
        for await (const e of events) yield `${JSON.stringify(e)}\n`;
      })());
      return reply.type('application/x-ndjson').send(lines);
    },
  );

  app.get(
    '/v1/sessions/:id/leaderboard',
    { ...read, schema: { summary: "A session's own board: its players by outcome, xp and score", params: idParam, response: { '4xx': errorBody } } },
    async (req) => {
      const { id } = req.params as { id: string };
      await sessionTenantCheck(reader, req, id);
      return sessionLeaderboard(reader, id);
    },
  );

  app.get(
    '/v1/sessions/:id/snapshots',
    {
      ...read,
      schema: {
        summary: "A session's snapshots with verified hashes, newest first",
        params: idParam,
        querystring: { type: 'object', properties: { withState: { type: 'boolean', default: false } }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      await sessionTenantCheck(reader, req, id);
      return listSnapshots(reader, id, { withState: (req.query as { withState: boolean }).withState });
    },
  );

  app.get(
    '/v1/sessions/:id/agents',
    {
      ...read,
      schema: {
        summary: "A session's LLM/agent calls per player, model and provider: calls, token sums, latency mean, max and p95",
        params: idParam,
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      await sessionTenantCheck(reader, req, id);
      const usage = await sessionAgentUsage(reader, id);
      if (!usage) throw noSession(id);
      return usage;
    },
  );
}
