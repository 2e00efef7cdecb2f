/**
 * The producer SDK: everything a game server needs to publish events. Also the entry of the SDK
 * package (packages/sdk, `@game-persist/sdk`), built from this same source.
 */
export { Producer, createProducer } from './producer.ts';
export type { Emitted, EnvelopeInput, EventInput, ProducerOptions, ProducerStats } from './producer.ts';
export { producerOptions } from './options.ts';
export type { DeploymentQueue } from './options.ts';
export type { CustomTypeCheck, CustomTypeProblem } from '../contract/custom-check.ts';
export { SEQUENCE_KEY_TTL_SECONDS } from './sequences.ts';
export type { SequenceReseed, SequenceSeed } from './sequences.ts';
export { BackpressureError, ClosedError, ConfigError, ContractError, EnqueueError, GamePersistError, NotReadyError, PreconditionError } from '../errors.ts';
export type { EnqueueReason } from '../errors.ts';
export { EVENT_TYPE_NAMES, uuidv7, validateEvent } from '../contract/index.ts';
export type { EventData, EventEnvelope, EventType } from '../contract/index.ts';
