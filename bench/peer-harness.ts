/**
 * bench/peers.ts's machinery: the rows, consumer processes (spawned, SIGTERMed, SIGKILLed), counting
 * what is stored, and the exactly-once verdict.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { uuidv7 } from '../src/contract/ids.ts';
import type { MoveRow, Peer } from './peer-queues.ts';

const PEERS_SCRIPT = fileURLToPath(new URL('./peers.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../bin/game-persist.js', import.meta.url));
const log = (s: string) => process.stderr.write(`${s}\n`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SUITS = ['hearts', 'spades', 'clubs', 'diamonds'];
const RANKS = ['A', 'K', 'Q', 'J', '10', '9'];

/** Row i of a run, as bench/ingest.ts's makeRow (moves of 1000 sessions, 4000 players, card data), in `moves` column names. */
export function makeRow(i: number, tag: string, at: string): MoveRow {
  const seq = Math.floor(i / 1000) + 1;
  return { session_id: `${tag}-${i % 1000}`, id: uuidv7(), seq, type: 'move', at, player_id: `player-${i % 4000}`, action: 'play_card', round: seq >> 4, turn: seq & 15, data: { card: { suit: SUITS[i % 4], rank: RANKS[i % 6] } } };
}

export interface Consumer {
  child: ChildProcess;
  /** What a peer's jobs are locked under (graphile-worker), for a supervisor to unlock after a crash. */
  lockIds: string[];
  /** Parsed JSON log lines (our worker's pino output). */
  logs: Record<string, any>[];
}

export type ConsumerSpec =
  | { system: 'ours'; dbUrl: string; redisUrl: string; prefix: string }
  | { system: Peer; dbUrl: string; phase: string; batch: number };

/** Every consumer process started and not yet exited, for the bench to SIGKILL if it fails. */
const running = new Set<ChildProcess>();
export const killRunning = () => running.forEach((c) => c.kill('SIGKILL'));

/**
 * Spawns a consumer process and waits until it consumes: our worker (`game-persist worker`, default
 * config, until it logs `worker started`) or a peer's (`bench/peers.ts --consumer`, until it says ready
 * over IPC). A peer's stdout goes to our stderr: stdout ends with the bench's JSON line.
 */
export async function startConsumer(spec: ConsumerSpec): Promise<Consumer> {
  const child =
    spec.system === 'ours'
      ? spawn(process.execPath, [CLI, 'worker'], {
          env: { ...process.env, DATABASE_URL: spec.dbUrl, REDIS_URL: spec.redisUrl, GP_QUEUE_PREFIX: spec.prefix, GP_LOG_LEVEL: 'info', GP_METRICS_PORT: '0' },
          stdio: ['ignore', 'ignore', 'pipe'],
        })
      : spawn(process.execPath, [PEERS_SCRIPT, '--consumer', spec.system, '--phase', spec.phase, '--batch', String(spec.batch)], {
          env: { ...process.env, PEERS_DATABASE_URL: spec.dbUrl },
          stdio: ['ignore', 2, 'pipe', 'ipc'],
        });
  running.add(child);
  child.on('exit', () => running.delete(child));
  const c: Consumer = { child, lockIds: [], logs: [] };
  let ready = false;
  let buf = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
      const line = buf.slice(0, i);
      try {
        const l = JSON.parse(line);
        c.logs.push(l);
        if (l.msg === 'worker started') ready = true;
        if (l.level >= 50) log(line);
      } catch {
        log(`${spec.system}: ${line}`);
      }
    }
  });
  child.on('message', (m: { ready?: boolean; lockIds?: string[] }) => {
    if (m.ready) {
      c.lockIds = m.lockIds ?? [];
      ready = true;
    }
  });
  while (!ready) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${spec.system} consumer exited before it was ready`);
    await sleep(20);
  }
  return c;
}

const exited = (c: Consumer) => new Promise<void>((resolve) => (c.child.exitCode !== null || c.child.signalCode !== null ? resolve() : c.child.once('exit', () => resolve())));

/** SIGTERM (a graceful stop: our worker logs `worker stopped` with its counts), SIGKILL after 30 s. */
export async function stopConsumer(c: Consumer): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill('SIGTERM');
  const t = setTimeout(() => c.child.kill('SIGKILL'), 30_000);
  await exited(c);
  clearTimeout(t);
}

export async function killConsumer(c: Consumer): Promise<void> {
  c.child.kill('SIGKILL');
  await exited(c);
}

/**
 * Rows committed so far in a peer's table (`stored`), and rows its committed INSERTs were given
 * (`given`; the difference is redeliveries the primary key turned away), from their notifications
 * (see peer-queues.ts).
 */
export async function listenStored(dbUrl: string, channel: string): Promise<{ stored: () => number; given: () => number; close: () => Promise<void> }> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  let stored = 0;
  let given = 0;
  c.on('notification', (n) => {
    const [ins, all] = (n.payload ?? '0 0').split(' ').map(Number);
    stored += ins;
    given += all;
  });
  await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
  return { stored: () => stored, given: () => given, close: () => c.end() };
}

/** Waits for `count()` to reach n; false after timeoutMs. */
export async function waitFor(count: () => number | Promise<number>, n: number, timeoutMs: number, pollMs = 10): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while ((await count()) < n) {
    if (Date.now() > until) return false;
    await sleep(pollMs);
  }
  return true;
}

export interface Verdict {
  /** Null when the kill run was skipped (--kill-events 0). */
  exactlyOnce: boolean | null;
  rows: number;
  distinct: number;
  missing: number;
  /** Rows stored that were never emitted. */
  unexpected: number;
}

/**
 * Every emitted id stored exactly once and nothing else: count = N, count(distinct id) = N, none
 * missing, none unexpected. `where` selects the run's rows in `table` (a fixed string of ours).
 */
export async function verify(dbUrl: string, table: string, where: string, ids: string[]): Promise<Verdict> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const { rows } = await c.query(
      `WITH e AS (SELECT unnest($1::uuid[]) AS id), s AS (SELECT id FROM ${table} WHERE ${where})
       SELECT (SELECT count(*) FROM s)::int AS rows, (SELECT count(DISTINCT id) FROM s)::int AS distinct,
              (SELECT count(*) FROM e WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.id = e.id))::int AS missing,
              (SELECT count(*) FROM s WHERE NOT EXISTS (SELECT 1 FROM e WHERE e.id = s.id))::int AS unexpected`,
      [ids],
    );
    const r = rows[0];
    return { ...r, exactlyOnce: r.rows === ids.length && r.distinct === ids.length && r.missing === 0 && r.unexpected === 0 };
  } finally {
    await c.end();
  }
}
