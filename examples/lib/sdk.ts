/**
 * What an SDK game server needs, from its environment: a producer, a read pool for recovery, and the
 * harness contract's ledger, out file and crash point (examples/README.md). Imports only the package's
 * public surface (src/index.ts is what `game-persist` exports).
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import type { LedgerEvent } from '../../src/loadgen/ledger.ts';
import { createProducer, createReader, loadConfig, pgSequenceSeed, producerOptions, type Producer, type Reader } from '../../src/index.ts';

export interface GameEnv {
  run: string;
  sessions: number;
  seed: number;
  scale: 'test' | 'demo';
  paceMs: number;
  apiUrl: string | null;
  apiKey: string | null;
}

export function gameEnv(): GameEnv {
  const e = process.env;
  if (!e.GAME_RUN) throw new Error('GAME_RUN is not set (see examples/README.md)');
  return {
    run: e.GAME_RUN,
    sessions: Number(e.GAME_SESSIONS ?? 3),
    seed: Number(e.GAME_SEED ?? 1),
    scale: e.GAME_SCALE === 'demo' ? 'demo' : 'test',
    paceMs: Number(e.GAME_PACE_MS ?? 0),
    apiUrl: e.GP_API_URL ?? null,
    apiKey: e.GP_API_KEY ?? null,
  };
}

/** The producer and reader a game server uses, configured like the worker (DATABASE_URL, REDIS_URL, GP_QUEUE_BACKEND, GP_QUEUE_*). */
export function connect(): { producer: Producer; db: Reader } {
  const cfg = loadConfig(process.env);
  const db = createReader(cfg.databaseUrl, { max: 4 });
  const producer = createProducer({ ...producerOptions(cfg), lingerMs: 2, sequenceSeed: pgSequenceSeed(db) });
  return { producer, db };
}

export type { LedgerEvent };

/**
 * The ledger: one line per accepted event, appended synchronously (a SIGKILL right after an emit
 * resolved loses at most the line being written), and the crash point of GAME_CRASH_AFTER.
 */
export class Ledger {
  readonly #path: string | null;
  readonly #crashAfter: number;
  accepted = 0;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.#path = env.GAME_LEDGER || null;
    this.#crashAfter = env.GAME_CRASH_AFTER ? Number(env.GAME_CRASH_AFTER) : Infinity;
  }

  record(e: LedgerEvent): void {
    if (this.#path) appendFileSync(this.#path, JSON.stringify(e) + '\n');
    // The kill waits for the continuations already due: one job acknowledges the emits of several
    // sessions at once, and each should write its line before the process dies (a real crash could
    // fall anywhere; the checker reports such events as unexpected, never as lost).
    if (++this.accepted === this.#crashAfter) setImmediate(() => process.kill(process.pid, 'SIGKILL'));
  }
}

/** Writes GAME_OUT (the game's own view of how its sessions ended). */
export function writeOut(out: Record<string, unknown>): void {
  if (process.env.GAME_OUT) writeFileSync(process.env.GAME_OUT, JSON.stringify(out, null, 2));
}

/**
 * Emits through the SDK and records each accepted event in the ledger: what a game server that wants an
 * audit trail of its own would do. `at` is fixed here so the ledger holds exactly what was sent.
 */
export class RecordingProducer {
  readonly producer: Producer;
  readonly ledger: Ledger;

  constructor(producer: Producer, ledger = new Ledger()) {
    this.producer = producer;
    this.ledger = ledger;
  }

  async emit(e: { type: string; sessionId: string; player?: string | null; data: Record<string, unknown> }): Promise<LedgerEvent> {
    const at = new Date().toISOString();
    const r = await this.producer.emit({ type: e.type as never, sessionId: e.sessionId, player: e.player ?? undefined, at, data: e.data as never });
    const line: LedgerEvent = { id: r.id, type: e.type, sessionId: e.sessionId, player: e.player ?? null, seq: r.seq, at, data: e.data };
    this.ledger.record(line);
    return line;
  }
}
