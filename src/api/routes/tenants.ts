/**
 * A tenant's reads (stats, chat, join queue) and the join queue's notify.
 */
import type { FastifyInstance } from 'fastify';
import { tenantChat, tenantStats } from '../../aggregates/read.ts';
import { takeWaiting, waitingPlayers } from '../../queue/join-queue.ts';
import { checkTenant, tenantOf } from '../access.ts';
import { errorBody, limitQ, read } from '../schemas.ts';
import type { ApiContext } from '../context.ts';

export function tenantRoutes(app: FastifyInstance, { orm, reader }: ApiContext): void {
  app.get(
    '/v1/tenants/:tenant/stats',
    {
      ...read,
      schema: {
        summary: "A tenant's sessions of the last days: total, active, completed, abandoned, completion rate",
        params: { type: 'object', required: ['tenant'], properties: { tenant: { type: 'string', minLength: 1, maxLength: 128 } } },
        querystring: { type: 'object', properties: { days: limitQ(3660, 7) }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const tenant = tenantOf(req, (req.params as { tenant: string }).tenant)!;
      return tenantStats(reader, tenant, (req.query as { days: number }).days);
    },
  );

  app.get(
    '/v1/tenants/:tenant/chat',
    {
      ...read,
      schema: {
        summary: "A tenant's chat messages of the last days: per player (and their channels) and per channel",
        params: { type: 'object', required: ['tenant'], properties: { tenant: { type: 'string', minLength: 1, maxLength: 128 } } },
        querystring: { type: 'object', properties: { days: limitQ(3660, 7) }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const tenant = tenantOf(req, (req.params as { tenant: string }).tenant)!;
      return tenantChat(reader, tenant, (req.query as { days: number }).days);
    },
  );

  const tenantParam = { type: 'object', required: ['tenant'], properties: { tenant: { type: 'string', minLength: 1, maxLength: 128 } } } as const;
  app.get(
    '/v1/tenants/:tenant/queue',
    {
      ...read,
      schema: {
        summary: "The players waiting in a tenant's join queue, longest-waiting first",
        params: tenantParam,
        querystring: { type: 'object', properties: { limit: limitQ(1000, 100) }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const tenant = tenantOf(req, (req.params as { tenant: string }).tenant)!;
      return { tenant, waiting: await waitingPlayers(reader, tenant, { limit: (req.query as { limit: number }).limit }) };
    },
  );

  app.post(
    '/v1/tenants/:tenant/queue/notify',
    {
      config: { scope: 'ingest' },
      schema: {
        summary: 'Take the next waiting players not yet notified and mark them notified (a game is starting)',
        description: 'Two servers taking at once never get the same player. A player who leaves and enters again can be taken again.',
        params: tenantParam,
        body: { type: 'object', required: ['count'], properties: { count: { type: 'integer', minimum: 1, maximum: 1000 } }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const tenant = (req.params as { tenant: string }).tenant;
      checkTenant(req, tenant);
      return { tenant, notified: await takeWaiting(orm, tenant, (req.body as { count: number }).count) };
    },
  );
}
