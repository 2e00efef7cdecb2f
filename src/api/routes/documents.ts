/**
 * Document reads: one document, a collection's page, a session's rejected writes, a player's documents.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../errors.ts';
import { MAX_DOCUMENT_PAGE, readDocument, readDocumentRejections, readDocuments, readPlayerDocuments } from '../../recovery/documents.ts';
import { noTenantRestriction, sessionTenantCheck } from '../access.ts';
import { errorBody, idParam, limitQ, read } from '../schemas.ts';
import type { ApiContext } from '../context.ts';

export function documentRoutes(app: FastifyInstance, { reader }: ApiContext): void {
  const docName = { type: 'string', minLength: 1, maxLength: 64 } as const;
  const docKey = { type: 'string', minLength: 1, maxLength: 256 } as const;
  const playerQ = { type: 'string', minLength: 1, maxLength: 128, description: "a player's documents in the session; absent: the session's own" } as const;
  app.get(
    '/v1/sessions/:id/documents/:collection',
    {
      ...read,
      schema: {
        summary: "A page of a session's collection (or a player's in it) in key order: by key prefix or range",
        params: { type: 'object', required: ['id', 'collection'], properties: { id: idParam.properties.id, collection: docName } },
        querystring: {
          type: 'object',
          properties: {
            player: playerQ,
            prefix: { type: 'string', maxLength: 256 },
            from: { type: 'string', maxLength: 256, description: 'keys >= from' },
            to: { type: 'string', maxLength: 256, description: 'keys < to' },
            after: { type: 'string', maxLength: 256, description: 'the `next` of the previous page' },
            limit: limitQ(MAX_DOCUMENT_PAGE, 100),
          },
          additionalProperties: false,
        },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id, collection } = req.params as { id: string; collection: string };
      await sessionTenantCheck(reader, req, id);
      const q = req.query as { player?: string; prefix?: string; from?: string; to?: string; after?: string; limit: number };
      return readDocuments(reader, id, { collection, ...q });
    },
  );
  app.get(
    '/v1/sessions/:id/documents/:collection/:key',
    {
      ...read,
      schema: {
        summary: 'One document, with its version (pass it as expectedVersion to write only over it)',
        params: { type: 'object', required: ['id', 'collection', 'key'], properties: { id: idParam.properties.id, collection: docName, key: docKey } },
        querystring: { type: 'object', properties: { player: playerQ }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id, collection, key } = req.params as { id: string; collection: string; key: string };
      await sessionTenantCheck(reader, req, id);
      const doc = await readDocument(reader, id, { collection, key, player: (req.query as { player?: string }).player ?? null });
      if (!doc) throw new ApiError(404, 'not_found', `no document ${collection}/${key} in session ${id}`);
      return doc;
    },
  );
  app.get(
    '/v1/sessions/:id/document-rejections',
    {
      ...read,
      schema: {
        summary: "A session's document writes that were not applied: expectedVersion conflicts and owner-limit refusals, in seq order",
        params: idParam,
        querystring: { type: 'object', properties: { afterSeq: { type: 'integer', minimum: 0, default: 0 }, limit: limitQ(MAX_DOCUMENT_PAGE, 100) }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      await sessionTenantCheck(reader, req, id);
      const q = req.query as { afterSeq: number; limit: number };
      return { rejections: await readDocumentRejections(reader, id, q) };
    },
  );
  app.get(
    '/v1/players/:id/documents',
    {
      ...read,
      schema: {
        summary: "A player's documents across sessions (by session, collection, key)",
        params: idParam,
        querystring: { type: 'object', properties: { collection: docName, after: { type: 'string', maxLength: 1024 }, limit: limitQ(MAX_DOCUMENT_PAGE, 100) }, additionalProperties: false },
        response: { '4xx': errorBody },
      },
    },
    async (req) => {
      noTenantRestriction(req, "read a player's documents (players span tenants)");
      const { id } = req.params as { id: string };
      return readPlayerDocuments(reader, id, req.query as { collection?: string; after?: string; limit: number });
    },
  );
}
