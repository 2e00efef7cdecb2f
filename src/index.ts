/**
 * The package entry: the whole public API on one screen. The producer SDK alone is also exported as
 * `game-persist/producer` (no database dependencies) and the contract as `game-persist/contract`.
 */
export { createProducer, Producer } from './producers/producer.ts';
export type { Emitted, EnvelopeInput, EventInput, ProducerOptions, ProducerStats } from './producers/producer.ts';
export { producerOptions } from './producers/options.ts';
export { EVENT_TYPES, EVENT_TYPE_NAMES, validateEvent, contractJsonSchema, uuidv7, DEFAULT_LIMITS } from './contract/index.ts';
export type { EventData, EventEnvelope, EventType, Limits, ValidEvent } from './contract/index.ts';
export { loadConfig } from './config.ts';
export type { Config } from './config.ts';
export type { QueueBackend } from './queue/backend-names.ts';
export { migrateQueueSchema, queueSchema } from './queue/backend.ts';
export { openOrm, ormConfig } from './db/orm.ts';
export { ensureDatabase, migrateUp, pendingMigrations, schemaDrifts } from './db/migrate.ts';
export { startWorker } from './process/worker.ts';
export type { WorkerHandle } from './process/worker.ts';
export type { WorkerStats } from './process/record.ts';
export { doctor } from './ops/doctor.ts';
export type { DoctorReport } from './ops/doctor.ts';
export { listDeadLetters, replayDeadLetters } from './ops/dead-letters.ts';
export { recoverSession, recoverSessions, recoverActiveSessions, recoverTail, replay } from './recovery/recover.ts';
export { waitPersisted, type Persisted } from './recovery/wait.ts';
export { pgSequenceSeed } from './recovery/sequence-seed.ts';
export { createReader } from './db/reader.ts';
export type { Reader, ReadSource } from './db/reader.ts';
export type { ActivePage, HistoryEvent, RecoveredSession, RecoverOptions } from './recovery/recover.ts';
export { systemClock, fixedClock, type Clock } from './clock.ts';
export { verifySnapshots } from './ops/verify-snapshots.ts';
export { runCleanup } from './jobs/boss.ts';
export { stateHash } from './snapshots/hash.ts';
export { ENTITIES } from './entities/index.ts';
export {
  BackpressureError,
  ClosedError,
  ConfigError,
  ContractError,
  EnqueueError,
  GamePersistError,
  NotReadyError,
  PreconditionError,
  TimeoutError,
} from './errors.ts';
export type { EnqueueReason } from './errors.ts';

// Aggregates and analytics.
export {
  playerStats, leaderboard, archivedLeaderboard, sessionLeaderboard, tenantStats, tenantChat, dailyStats, recentSessions, leaderboardScope, sessionAgentUsage,
  playerAgentUsage,
} from './aggregates/read.ts';
export type { PlayerStats, ScopeStats, Leaderboard, LeaderboardRow, LeaderboardOptions, SessionLeaderboardRow, RecentSession, TenantChat, AgentUsage } from './aggregates/read.ts';
export { verifyAggregates, type VerifyReport } from './aggregates/verify.ts';
export type { Drift } from './aggregates/drift.ts';
export { rebuildAggregates } from './aggregates/rebuild.ts';
export { rateFinishedSessions, rateSession } from './aggregates/ratings.ts';
export { closeEndedPeriods } from './aggregates/close-periods.ts';
export { foldStatDeltas } from './aggregates/write.ts';
export { periodScopes } from './aggregates/periods.ts';
export { AnalyticsError } from './errors.ts';
