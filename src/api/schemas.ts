/**
 * JSON Schemas of the HTTP API's requests and responses: Fastify validates and serialises with them,
 * and @fastify/swagger publishes them in /openapi.json. Events themselves are checked by the v1
 * contract module (src/contract), as the SDK and the worker check them, so each event gets its own
 * verdict instead of the whole request failing on one bad event.
 */

/** Events per POST /v1/events; a producer job holds at most this many too. */
export const MAX_EVENTS_PER_REQUEST = 1000;

export const errorBody = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'stable: unauthorized, forbidden, not_found, bad_request, invalid_event, body_too_large, rate_limited, timeout, unavailable, internal, erasure_key_missing, erasure_failed' },
        message: { type: 'string' },
      },
    },
  },
} as const;

export const idParam = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

export const ingestBody = {
  type: 'array',
  maxItems: MAX_EVENTS_PER_REQUEST,
  description: 'Events in the wire form of docs/contract.md: { type, sessionId, player?, id?, seq?, at?, data }',
  // Anything: an item that is not an event object gets its own verdict (field `event`), as a worker
  // dead-letters such an item of a job alone, instead of the whole request failing.
  items: { description: 'an event object' },
} as const;

export const ingestResponse = {
  type: 'object',
  required: ['accepted', 'rejected', 'results'],
  properties: {
    accepted: { type: 'integer' },
    rejected: { type: 'integer' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['index', 'status'],
        properties: {
          index: { type: 'integer', description: "the event's position in the request" },
          status: { type: 'string', enum: ['accepted', 'rejected'] },
          id: { type: 'string', description: 'accepted: the event id (yours, or a UUIDv7 assigned)' },
          seq: { type: ['integer', 'null'], description: 'accepted: its sequence number (null for queue.* events)' },
          code: { type: 'string', description: 'rejected: invalid_event (the contract), or forbidden (a tenant-restricted key, outside its tenant)' },
          field: { type: 'string', description: 'rejected: the offending path, e.g. data.target' },
          reason: { type: 'string' },
        },
      },
    },
  },
} as const;

/** Route options of a read: the `read` scope. */
export const read = { config: { scope: 'read' as const } };

/** An integer query parameter from 1 to `max`, `def` when absent. */
export const limitQ = (max: number, def: number) => ({ type: 'integer', minimum: 1, maximum: max, default: def });
