/**
 * The publishing examples of docs/contract.md, run as a reader would run them, against a real worker:
 * the plain-BullMQ TypeScript example publishes to Redis itself; the Python example's --dry-run job
 * (its `bullmq` package is not installed here) is added as it prints it. Every event must be stored,
 * none dead-lettered, and the documents and the game-defined type must come back.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../../src/contract/events.ts';
import { EVENT_TABLES } from '../../../src/db/families.ts';
import { replay } from '../../../src/recovery/recover.ts';
import { readDocument, readDocuments } from '../../../src/recovery/documents.ts';
import { REDIS_URL, count, rows, waitFor } from '../../helpers/services.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';
import { childEnv } from '../../helpers/env.ts';

const run = promisify(execFile);
const example = (name: string) => fileURLToPath(new URL(`../../../docs/examples/${name}`, import.meta.url));
const ctx = workerFixture();

/** Rows in every event table of the sessions whose id starts with `prefix`. */
async function storedEvents(prefix: string): Promise<number> {
  let n = 0;
  for (const t of EVENT_TABLES) n += await count(ctx.fx.orm, t, t === 'queue_events' ? 'tenant like $1' : 'session_id like $1', [`${prefix}%`]);
  return n;
}

/** The types of a session's stored events, in sequence order. */
async function typesOf(sessionId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of replay(ctx.fx.orm, sessionId)) out.push(e.type);
  return out;
}

async function checkStored(run: string, game: string, lobby: string, total: number) {
  await waitFor(`${total} events of ${run} stored`, async () => (await storedEvents(run)) >= total);
  expect(await storedEvents(run)).toBe(total);
  expect(await count(ctx.fx.orm, 'dead_letters')).toBe(0);
  // Every type of the contract is stored (the join queue's entries before the game have no session)…
  const types = new Set([...(await typesOf(game)), ...(await typesOf(lobby))]);
  const queued = await rows<{ type: string }>(ctx.fx.orm, 'select distinct type from queue_events where tenant like $1', [`${run}%`]);
  for (const q of queued) types.add(q.type);
  for (const t of Object.keys(EVENT_TYPES)) expect(types, t).toContain(t);
  // … and the game's own type.
  expect(types).toContain('x.docs.note');
  // The documents were applied in seq order: a room, a player's character at version 1, a deleted room.
  const [character] = await rows<{ player_id: string }>(ctx.fx.orm, "select player_id from session_participants where session_id = $1 and position = 0", [game]);
  await waitFor('documents applied', async () => (await readDocument(ctx.fx.orm, game, { collection: 'characters', key: character!.player_id, player: character!.player_id })) !== null);
  const doc = await readDocument(ctx.fx.orm, game, { collection: 'characters', key: character!.player_id, player: character!.player_id });
  expect(doc).toMatchObject({ version: 1, value: { color: 'red' } });
  const rooms = await readDocuments(ctx.fx.orm, game, { collection: 'rooms', limit: 10 });
  expect(rooms.documents.map((d) => d.key)).toEqual(['admin']);
}

describe('the publishing examples of docs/contract.md', () => {
  it('publish-plain-bullmq.ts publishes every type, documents and a game type, and a worker stores them all', async () => {
    const { stdout } = await run(process.execPath, [example('publish-plain-bullmq.ts')], {
      env: { ...childEnv(), REDIS_URL, GP_QUEUE_PREFIX: ctx.prefix },
      timeout: 60_000,
    });
    const m = /^published (\d+) events of (\d+) types in 1 job\(s\) to (\S+) \(session (docs-(\S+)-game)\)$/m.exec(stdout);
    expect(m, stdout).not.toBeNull();
    const [, events, types, queue, game, runId] = m!;
    expect(queue).toBe(`${ctx.prefix}:events`);
    expect(Number(types)).toBe(Object.keys(EVENT_TYPES).length + 1);
    await checkStored(`docs-${runId}`, game!, `docs-${runId}-lobby`, Number(events));
  });

  it("publish.py --dry-run prints a job whose events a worker stores completely", async () => {
    const { stdout } = await run('python3', [example('publish.py'), '--dry-run'], { timeout: 60_000 });
    const job = JSON.parse(stdout) as { v: number; events: { sessionId?: string; type: string }[] };
    const game = job.events.find((e) => e.type === 'session.started')!.sessionId!;
    const runId = game.replace(/^py-/, '').replace(/-game$/, '');
    expect(new Set(job.events.map((e) => e.type)).size).toBe(Object.keys(EVENT_TYPES).length + 1);
    const q = plainQueue(ctx.prefix);
    await q.add('events', job);
    await q.close();
    await checkStored(`py-${runId}`, game, `py-${runId}-lobby`, job.events.length);
  });
});
