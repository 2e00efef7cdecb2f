/**
 * Every call of the producer to its queue's store (Redis, or PostgreSQL on the PostgreSQL queue
 * backend) goes through a gate: it bounds how long a call waits for an unreachable store, and turns
 * what went wrong into a stable reason and a plain message for EnqueueError (the client's own error is
 * kept as the cause). ./redis-gate.ts and ./pg-gate.ts are the two.
 */
import type { EnqueueReason } from '../errors.ts';

export interface Explained {
  reason: EnqueueReason;
  message: string;
}

export interface Gate {
  run<T>(op: () => Promise<T>): Promise<T>;
  explain(e: unknown): Explained;
}
