/**
 * How a worker classifies the errors of its Redis clients and BullMQ objects: a redelivery race and a
 * PostgreSQL-backend deadlock are harmless (deduplication stores the events once) and must not read
 * as errors; everything else stays an error. The errors are built as BullMQ (finished-errors.js, not
 * exported: a message and the numeric code) and pg build them.
 */
import { ErrorCode } from 'bullmq';
import pg from 'pg';
import { expect, it } from 'vitest';
import { classifyRedisError } from '../../src/redis-errors.ts';

const finishedError = (code: ErrorCode, message: string) => Object.assign(new Error(message), { code });

it('reads a lost lock, a job already moved back, and a renewal failure as redelivery races', () => {
  for (const [code, message] of [
    [ErrorCode.JobNotExist, 'Missing key for job 112. moveToFinished'],
    [ErrorCode.JobLockNotExist, 'Missing lock for job 112. moveToFinished'],
    [ErrorCode.JobNotInState, 'Job 112 is not in the active state. moveToFinished'],
    [ErrorCode.JobLockMismatch, 'Lock mismatch for job 112. Cmd moveToFinished from active'],
  ] as const)
    expect(classifyRedisError(finishedError(code, message)), message).toBe('lock_race');
  expect(classifyRedisError(new Error('could not renew lock for job 7'))).toBe('lock_race');
  expect(classifyRedisError(finishedError(ErrorCode.JobPendingChildren, 'Job 1 has pending dependencies. moveToFinished'))).toBe('other');
});

it('reads a PostgreSQL deadlock (40P01) as the backend deadlock, in a cause too, and other SQL errors as errors', () => {
  const deadlock = Object.assign(new pg.DatabaseError('deadlock detected', 0, 'error'), { code: '40P01' });
  expect(classifyRedisError(deadlock)).toBe('deadlock');
  expect(classifyRedisError(new Error('move failed', { cause: deadlock }))).toBe('deadlock');
  expect(classifyRedisError(Object.assign(new pg.DatabaseError('canceling statement due to lock timeout', 0, 'error'), { code: '55P03' }))).toBe('other');
  expect(classifyRedisError(new Error('connect ECONNREFUSED 127.0.0.1:6379'))).toBe('other');
});
