/**
 * Publishing game-persist events with plain BullMQ: no game-persist SDK, only `bullmq` and `ioredis`.
 * It plays one short session that uses every v1 event type (documents included) and a game-defined
 * type of its own (`x.docs.note`), plus an abandoned lobby and a join queue. A test runs it
 * (test/integration/docs/examples.test.ts) and checks that a worker stores every event.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 GP_QUEUE_PREFIX=gp node docs/examples/publish-plain-bullmq.ts
 *
 * See docs/contract.md for the rules this follows.
 */
import { randomBytes } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Must match the workers' GP_QUEUE_PREFIX (default gp). */
const PREFIX = process.env.GP_QUEUE_PREFIX || 'gp';
const QUEUE_NAME = 'events';
const JOB_NAME = 'events';
/** ~100 events per job: few Redis round trips, small jobs, and a bad event only costs its own row. */
const EVENTS_PER_JOB = 100;
/** The same policy the SDK uses: a job whose write fails transiently is retried, not lost. */
const JOB_OPTIONS: JobsOptions = {
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
  attempts: 20,
  backoff: { type: 'exponential', delay: 1000 },
};
/** TTL the SDK gives the per-session sequence counter ({prefix}:seq:{sessionId}). */
const SEQ_TTL_SECONDS = 30 * 24 * 3600;

/** One event as it travels in a job (contract v1). `seq` is filled in by assignSeqs() below. */
interface WireEvent {
  id: string;
  type: string;
  sessionId?: string | number;
  seq?: number;
  at: string;
  player?: string | number;
  data: Record<string, unknown>;
}

/** A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, then random bits with the RFC variant. */
function uuidv7(): string {
  const b = randomBytes(16);
  const ms = Date.now();
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** RFC 3339 with a zone, e.g. 2026-11-21T10:00:00.000Z. */
const now = () => new Date().toISOString();

function event(type: string, envelope: { sessionId?: string | number; player?: string | number }, data: Record<string, unknown>): WireEvent {
  return { id: uuidv7(), type, ...envelope, at: now(), data };
}

/**
 * Gives every event that has a sessionId the next sequence numbers of its session, in list order,
 * from the same Redis counter the SDK uses: INCRBY reserves a block atomically, so several game
 * servers (or a restarted one) never hand out the same number twice.
 */
async function assignSeqs(redis: Redis, events: WireEvent[]): Promise<void> {
  const bySession = new Map<string, WireEvent[]>();
  for (const e of events) {
    if (e.sessionId === undefined || e.seq !== undefined) continue;
    const sid = String(e.sessionId);
    bySession.set(sid, [...(bySession.get(sid) ?? []), e]);
  }
  if (!bySession.size) return;
  const tx = redis.multi();
  for (const [sid, list] of bySession) {
    const key = `${PREFIX}:seq:${sid}`;
    tx.incrby(key, list.length).expire(key, SEQ_TTL_SECONDS);
  }
  const replies = await tx.exec();
  if (!replies) throw new Error('sequence transaction was aborted');
  let i = 0;
  for (const list of bySession.values()) {
    const [err, last] = replies[i * 2];
    if (err) throw err;
    let seq = Number(last) - list.length;
    for (const e of list) e.seq = ++seq;
    i++;
  }
}

/** Sends events in jobs of EVENTS_PER_JOB: `{ v: 1, events: [...] }`, job name `events`. */
async function publish(queue: Queue, events: WireEvent[]): Promise<number> {
  const jobs = [];
  for (let i = 0; i < events.length; i += EVENTS_PER_JOB)
    jobs.push({ name: JOB_NAME, data: { v: 1, events: events.slice(i, i + EVENTS_PER_JOB) }, opts: JOB_OPTIONS });
  await queue.addBulk(jobs);
  return jobs.length;
}

/** One short game that uses every event type. */
function playSession(run: string): WireEvent[] {
  const sessionId = `docs-${run}-game`;
  const lobbyId = `docs-${run}-lobby`;
  const tenant = `docs-${run}-guild`;
  const players = ['ana', 'ben', 'cho'].map((p) => `${p}-${run}`);
  const s = { sessionId };
  const out: WireEvent[] = [];

  // Waiting in the tenant's join queue: no session yet, so no seq.
  for (const p of players) out.push(event('queue.entered', { player: p }, { tenant, expiresAt: new Date(Date.now() + 600_000).toISOString(), meta: { elo: 1200 } }));

  out.push(event('session.created', s, { gameType: 'impostor', tenant, name: 'Docs example', createdBy: players[0], settings: { rounds: 1, impostors: 1 } }));
  players.forEach((p, i) => {
    // Leaving the queue for this session: with a sessionId, the event takes a seq of that session.
    out.push(event('queue.left', { sessionId, player: p }, { tenant, reason: 'joined' }));
    out.push(event('player.joined', { sessionId, player: p }, { role: i === 2 ? 'impostor' : 'crew', team: i === 2 ? 'red' : 'blue', position: i, name: p.split('-')[0] }));
  });
  out.push(event('session.started', s, { settings: { rounds: 1, impostors: 1 } }));
  // Documents: the session's own (a map chunk) and a player's (a character, written only over version 0:
  // created if absent), then one deleted. Applied in seq order by the worker; read them by key or prefix.
  out.push(event('doc.put', s, { collection: 'rooms', key: 'admin', value: { lights: true, vents: ['cafeteria'] } }));
  out.push(event('doc.put', { sessionId, player: players[0] }, { collection: 'characters', key: players[0], owner: 'player', value: { color: 'red', hats: 2 }, expectedVersion: 0 }));
  out.push(event('doc.put', s, { collection: 'rooms', key: 'storage', value: { lights: false } }));
  out.push(event('doc.delete', s, { collection: 'rooms', key: 'storage' }));
  // A game's own event type: free-form data (checked against its JSON Schema once one is registered).
  out.push(event('x.docs.note', { sessionId, player: players[1] }, { text: 'saw cho near the vent', round: 1 }));
  out.push(event('task.completed', { sessionId, player: players[0] }, { taskType: 'wires', xp: 10, description: 'Fix wiring in electrical' }));
  out.push(event('task.completed', { sessionId, player: players[2] }, { taskType: 'wires', fake: true }));
  out.push(event('move', { sessionId, player: players[1] }, { action: 'walk', round: 1, turn: 1, data: { from: 'cafeteria', to: 'admin' } }));
  out.push(event('agent.log', { sessionId, player: players[2] }, {
    model: 'example-model', provider: 'example', agent: 'impostor-bot', turn: 1,
    prompt: 'You are the impostor. Who do you accuse?', response: 'ben was in admin alone.',
    promptTokens: 12, completionTokens: 7, latencyMs: 812.5,
  }));
  out.push(event('chat.message', { sessionId, player: players[2] }, { text: 'ben was in admin alone 🤔', channel: 'discussion', round: 1 }));
  out.push(event('vote', { sessionId, player: players[0] }, { target: players[2], round: 1, kind: 'eject' }));
  out.push(event('vote', { sessionId, player: players[1] }, { target: players[2], round: 1, kind: 'eject' }));
  out.push(event('vote', { sessionId, player: players[2] }, { target: null, round: 1, kind: 'eject' })); // null = skip
  out.push(event('turn.result', s, { turn: 1, round: 1, results: { ejected: players[2] }, state: { alive: players.slice(0, 2), round: 1 }, stateHash: 'a1' }));
  out.push(event('turn.result', s, { turn: 2, round: 1, patch: { phase: 'ended' } })); // RFC 7396 merge patch
  out.push(event('player.left', { sessionId, player: players[2] }, { reason: 'ejected' }));
  players.forEach((p, i) => out.push(event('player.outcome', { sessionId, player: p }, { outcome: i === 2 ? 'loss' : 'win', xp: i === 2 ? 5 : 50, score: i === 2 ? 0 : 1.5 })));
  out.push(event('session.finished', s, { winners: players.slice(0, 2), scores: Object.fromEntries(players.map((p, i) => [p, i === 2 ? 0 : 1.5])), result: 'crew win' }));

  // A lobby that never started; integer ids are accepted too (stored as text).
  out.push(event('session.created', { sessionId: lobbyId }, { gameType: 'impostor', tenant, createdBy: 4242 }));
  out.push(event('session.abandoned', { sessionId: lobbyId }, { reason: 'not enough players' }));
  return out;
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  const queue = new Queue(QUEUE_NAME, { connection: redis, prefix: PREFIX });
  try {
    const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    const events = playSession(run);
    await assignSeqs(redis, events);
    const jobs = await publish(queue, events);
    const types = new Set(events.map((e) => e.type));
    console.log(`published ${events.length} events of ${types.size} types in ${jobs} job(s) to ${PREFIX}:${QUEUE_NAME} (session docs-${run}-game)`);
  } finally {
    await queue.close();
    await redis.quit();
  }
}

await main();
