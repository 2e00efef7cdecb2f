/**
 * Game-defined event types: list, register, remove.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../errors.ts';
import { query } from '../../db/query.ts';
import { listTypes, registerType, removeType, type RegisteredType } from '../../db/event-types.ts';
import { errorBody, read } from '../schemas.ts';
import type { ApiContext } from '../context.ts';

const typeView = (r: RegisteredType) => ({ type: r.type, version: r.version, description: r.description, schema: r.schema, updatedAt: r.updated_at });

export function typeRoutes(app: FastifyInstance, { cfg, orm, types }: ApiContext): void {
  const typeParam = { type: 'object', required: ['type'], properties: { type: { type: 'string', minLength: 3, maxLength: 128, description: 'x.<game>.<name>' } } } as const;
  // Registrations are written on the primary (the reader may be a replica).
  const dbQuery = <R>(sql: string, params: unknown[]) => query<R>(orm.em.fork(), sql, params);
  app.get(
    '/v1/contract/types',
    { ...read, schema: { summary: 'The registered game event types and their JSON Schemas; `mode` says whether unregistered ones are accepted', response: { '4xx': errorBody } } },
    async () => ({ mode: cfg.customTypes, types: (await listTypes(dbQuery)).map(typeView) }),
  );
  app.put(
    '/v1/contract/types/:type',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Register (or replace) the JSON Schema (2020-12) of a game event type x.<game>.<name>',
        description: "Compiled once and enforced by the API and every worker from the next event on. The schema checks the event's `data`.",
        params: typeParam,
        body: { type: 'object', required: ['schema'], properties: { schema: { type: 'object' }, description: { type: 'string', maxLength: 1024 } }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { type } = req.params as { type: string };
      const body = req.body as { schema: Record<string, unknown>; description?: string };
      const row = await registerType(dbQuery, type, body.schema, body.description ?? null);
      await types.refresh();
      return typeView(row);
    },
  );
  app.delete(
    '/v1/contract/types/:type',
    { config: { scope: 'admin' }, schema: { summary: "Remove a game type's schema (its stored events stay; new ones are then free-form, or refused when GP_CUSTOM_TYPES=registered)", params: typeParam, response: { '4xx': errorBody } } },
    async (req) => {
      const { type } = req.params as { type: string };
      if (!(await removeType(dbQuery, type))) throw new ApiError(404, 'not_found', `${type} is not registered`);
      await types.refresh();
      return { removed: type };
    },
  );
}
