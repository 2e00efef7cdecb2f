/** The producer SDK: everything a game server needs to publish events. */
export { Producer, createProducer } from './producer.ts';
export type { Emitted, EnvelopeInput, EventInput, ProducerOptions, ProducerStats } from './producer.ts';
export { producerOptions } from './options.ts';
export { SEQUENCE_KEY_TTL_SECONDS } from './sequences.ts';
export type { SequenceReseed, SequenceSeed } from './sequences.ts';
export { BackpressureError, ClosedError, ContractError, EnqueueError, NotReadyError } from '../errors.ts';
export type { EnqueueReason } from '../errors.ts';
export { EVENT_TYPE_NAMES, uuidv7, validateEvent } from '../contract/index.ts';
export type { EventData, EventEnvelope, EventType } from '../contract/index.ts';
