/** The v1 event contract: shared by producers and workers. */
export { EVENT_TYPES, EVENT_TYPE_NAMES, FAMILIES, OUTCOMES } from './events.ts';
export type { EventData, EventEnvelope, EventType, Family, Outcome, ValidEvent } from './events.ts';
export { validateEvent, isEventType, type CheckedEvent, type ValidateOptions } from './validate.ts';
export { contractJsonSchema } from './json-schema.ts';
export { uuidv7 } from './ids.ts';
export {
  CONTRACT_VERSION,
  DEFAULT_LIMITS,
  DEFAULT_QUEUE_NAME,
  DEFAULT_QUEUE_PREFIX,
  EVENT_JOB_NAME,
  MAX_EVENTS_PER_JOB,
  sequenceKey,
} from './limits.ts';
export type { Limits } from './limits.ts';
