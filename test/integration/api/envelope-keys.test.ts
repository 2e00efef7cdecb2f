/**
 * Issue 19, item 2: an envelope key the contract does not know (`foo`, `__proto__`, `constructor`, a
 * `v` other than 1) is refused by name on every way in — the SDK's wire-form `emit`, `POST /v1/events`
 * and a raw BullMQ job a worker consumes — and the events beside it land. On main the SDK and the API
 * built a fresh object of the known fields before validating, so they answered `accepted` and stored
 * the event without the key while the worker dead-lettered the same event.
 */
import { expect, it } from 'vitest';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { EVENT_JOB_NAME } from '../../../src/contract/limits.ts';
import { ContractError } from '../../../src/errors.ts';
import { count, rows, waitFor } from '../../helpers/services.ts';
import { waysInFixture } from '../../helpers/ways-in.ts';

const ctx = waysInFixture('envelope');

/** A chat message with one extra envelope key, as JSON text (`__proto__` written by hand: JSON.stringify would drop it). */
function withKey(sessionId: string, seq: number, extra: string): string {
  const base = JSON.stringify({ id: uuidv7(), type: 'chat.message', sessionId, seq, at: new Date().toISOString(), player: 'p1', data: { text: 'hi' } });
  return `${base.slice(0, -1)},${extra}}`;
}
const EXTRAS: [string, string][] = [
  ['"foo":1', 'foo'],
  ['"__proto__":{"x":1}', '__proto__'],
  ['"constructor":{"prototype":{"x":1}}', 'constructor'],
  ['"v":2', 'v'],
];

it('refuses an unknown envelope key by name over HTTP, SDK and a raw job alike, and lands the events beside it', async () => {
  for (const [path, make] of [['http'], ['sdk'], ['job']].map(([p]) => [p, (seq: number, extra: string) => withKey(`env-${p}`, seq, extra)] as const)) {
    const sessionId = `env-${path}`;
    const texts = [...EXTRAS.map(([extra], i) => make(i + 1, extra)), make(EXTRAS.length + 1, '"v":1')];
    const good = JSON.parse(texts.at(-1)!).id as string;
    let fields: (string | null)[];
    if (path === 'http') {
      const res = await fetch(`${ctx.base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${ctx.key}`, 'content-type': 'application/json' }, body: `[${texts.join(',')}]` });
      const body = (await res.json()) as { results: { status: string; field?: string }[] };
      expect(res.status, JSON.stringify(body)).toBe(200);
      fields = body.results.map((r) => (r.status === 'accepted' ? null : r.field!));
    } else if (path === 'sdk') {
      fields = await Promise.all(
        texts.map((t) =>
          ctx.producer.emit(JSON.parse(t)).then(
            () => null,
            (e: unknown) => (e instanceof ContractError ? e.field : `not a ContractError: ${String(e)}`),
          ),
        ),
      );
    } else {
      const job = await ctx.queue.add(EVENT_JOB_NAME, JSON.parse(`{"v":1,"events":[${texts.join(',')}]}`));
      await waitFor('the job written', async () => (await count(ctx.fx.orm, 'dead_letters', 'job_id = $1', [String(job.id)])) >= EXTRAS.length && (await count(ctx.fx.orm, 'chat_messages', 'id = $1', [good])) === 1);
      const dead = await rows<{ field: string; payload: string }>(ctx.fx.orm, 'select field, payload::text from dead_letters where job_id = $1', [String(job.id)]);
      const byId = new Map(dead.map((d) => [JSON.parse(d.payload).id as string, d.field]));
      fields = texts.map((t) => byId.get(JSON.parse(t).id) ?? null);
    }
    expect(fields, path).toEqual(['foo', '__proto__', 'constructor', 'v', null]);
    await waitFor(`${path}: the good event stored`, async () => (await count(ctx.fx.orm, 'chat_messages', 'id = $1', [good])) === 1);
    // Only the good one: nothing refused was stored without its key.
    expect(await count(ctx.fx.orm, 'chat_messages', 'session_id = $1', [sessionId]), path).toBe(1);
  }
  expect(({} as Record<string, unknown>).x).toBeUndefined();
});

it('gives an item of a batch that is not an event object its own verdict, as a worker dead-letters it alone', async () => {
  const at = new Date().toISOString();
  const good = { id: uuidv7(), type: 'move', sessionId: 'env-items', seq: 1, at, data: { action: 'go' } };
  const res = await fetch(`${ctx.base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${ctx.key}`, 'content-type': 'application/json' }, body: JSON.stringify([5, null, [good], 'x', good]) });
  const body = (await res.json()) as { results: { status: string; field?: string }[] };
  expect(res.status, JSON.stringify(body)).toBe(200);
  expect(body.results.map((r) => r.field ?? r.status)).toEqual(['event', 'event', 'event', 'event', 'accepted']);
  await expect(ctx.producer.emit(null as never)).rejects.toMatchObject({ field: 'event' });
});
