/**
 * Builds the JSON Schema (2020-12) of the v1 contract from the same table the validator uses.
 * `npm run contract:schema` writes it to docs/contract.schema.json; a test fails if the committed
 * file differs from what this returns.
 */
import { CUSTOM_TYPE_PATTERN, EVENT_TYPES, type EventType } from './events.ts';
import { MAX_ID_LENGTH } from './fields.ts';
import { DEFAULT_LIMITS, MAX_EVENTS_PER_JOB, MAX_ISSUED_PER_JOB } from './limits.ts';

const id = { anyOf: [{ type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH }, { type: 'integer' }] };
/** Envelope ids may also be null, which the worker reads as absent. */
const optionalId = { anyOf: [...id.anyOf, { type: 'null' }] };

function eventSchema(type: EventType): Record<string, unknown> {
  const def = EVENT_TYPES[type];
  const shape = def.data as Record<string, { optional: boolean; schema(): Record<string, unknown> }>;
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const [k, spec] of Object.entries(shape)) {
    properties[k] = spec.schema();
    if (!spec.optional) required.push(k);
  }
  const needsSession = !('needsSession' in def) || def.needsSession !== false;
  const needsPlayer = def.family === 'participant' || def.family === 'vote' || def.family === 'queue';
  return {
    title: type,
    description: def.description,
    type: 'object',
    additionalProperties: false,
    required: ['id', 'type', 'at', 'data', ...(needsSession ? ['sessionId', 'seq'] : []), ...(needsPlayer ? ['player'] : [])],
    ...(needsSession ? { dependentRequired: { sessionId: ['seq'] } } : {}),
    properties: {
      v: { const: 1 },
      id: { $ref: '#/$defs/uuid' },
      type: { const: type },
      sessionId: needsSession ? id : optionalId,
      seq: { type: ['integer', 'null'], minimum: 1, description: 'Per-session sequence number, required with sessionId.' },
      at: { type: 'string', format: 'date-time' },
      player: needsPlayer ? id : optionalId,
      data: { type: 'object', additionalProperties: false, required, properties },
    },
  };
}

export function contractJsonSchema(): Record<string, unknown> {
  const types = Object.keys(EVENT_TYPES) as EventType[];
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://game-persist.dev/schema/v1/job.json',
    title: 'game-persist v1 event job',
    description:
      `The data of a BullMQ job on the events queue: either {"v":1,"events":[...]} (up to ${MAX_EVENTS_PER_JOB} events) or one bare event. ` +
      `Limits beyond this schema: an event's JSON is at most ${DEFAULT_LIMITS.maxEventBytes} bytes, nests at most ${DEFAULT_LIMITS.maxDepth} levels, ` +
      `free-form strings are at most ${DEFAULT_LIMITS.maxStringLength} characters, and no string may contain \\u0000 or a lone surrogate.`,
    anyOf: [
      {
        type: 'object',
        additionalProperties: false,
        required: ['events'],
        properties: {
          v: { const: 1 },
          events: { type: 'array', maxItems: MAX_EVENTS_PER_JOB, items: { $ref: '#/$defs/event' } },
          issued: {
            type: 'array',
            maxItems: MAX_ISSUED_PER_JOB,
            description: 'The highest seq the publisher issued per session (an issued-seq report: seqs up to it that never arrive are given up as lost).',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['sessionId', 'seq'],
              properties: { sessionId: id, seq: { type: 'integer', minimum: 1 } },
            },
          },
        },
      },
      { $ref: '#/$defs/event' },
    ],
    $defs: {
      uuid: { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' },
      event: { oneOf: [...types.map((t) => ({ $ref: `#/$defs/${t}` })), { $ref: '#/$defs/x.game.type' }] },
      ...Object.fromEntries(types.map((t) => [t, eventSchema(t)])),
      'x.game.type': {
        title: 'x.<game>.<name>',
        description: "A game's own event type: free-form data, checked against the JSON Schema registered for the type, if any (game-persist contract add-type).",
        type: 'object',
        additionalProperties: false,
        required: ['id', 'type', 'at', 'data', 'sessionId', 'seq'],
        properties: {
          v: { const: 1 },
          id: { $ref: '#/$defs/uuid' },
          type: { type: 'string', maxLength: 128, pattern: CUSTOM_TYPE_PATTERN.source },
          sessionId: id,
          seq: { type: ['integer', 'null'], minimum: 1, description: 'Per-session sequence number, required with sessionId.' },
          at: { type: 'string', format: 'date-time' },
          player: optionalId,
          data: { type: 'object' },
        },
      },
    },
  };
}
