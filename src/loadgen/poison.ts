/**
 * Poison payloads (issue 12, the `poison` chaos scenario): each poison kind is sent inside otherwise
 * good traffic on all three ways in — a raw BullMQ job `{v:1, events:[good, poison, good]}`, SDK calls
 * (`producer.emit`) and an HTTP batch — to a real worker process and a real API process. A run passes
 * when every good event lands exactly once, every poison event is refused by name (a ContractError
 * from the SDK, a per-event `rejected` verdict from the API, a dead letter naming the field from the
 * worker), the kinds that are valid JSON (`__proto__` keys) land with their data intact, a 50 MB job
 * is dead-lettered as `job_too_large`, a 50 MB request body gets a 413, the worker is the same process
 * at the end and keeps processing, and its resident memory stayed under a bound.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Redis } from 'ioredis';
import { uuidv7 } from '../contract/ids.ts';
import { EVENT_JOB_NAME } from '../contract/limits.ts';
import { POISON_CHAT_SQL, POISON_DEAD_LETTERS_SQL } from '../db/sql/poison.ts';
import { ContractError, errorMessage } from '../errors.ts';
import { createProducer } from '../producers/index.ts';
import { openQueue } from '../queue/backend.ts';
import { deletePrefix } from '../redis.ts';
import { startPipeline, type Pipeline } from './harness.ts';
import { addRawJob } from './raw-job.ts';

/** An event in wire form, as a game server or another language would send it. */
export type WireEvent = Record<string, any>;

export interface PoisonKind {
  kind: string;
  /** The poisoned event, made from a good one of the same session. */
  make(good: WireEvent): WireEvent;
  /** The field a refusal names (a prefix of it); null: valid JSON that must land with its data intact. */
  field: string | null;
}

/** Nesting of the deep poison: JSON.parse takes it, JSON.stringify and structuredClone overflow on it. */
export const DEEP = 10_000;
/** Stands for the deep value until it is needed as an object (materialise) or as text (wireText). */
const DEEP_MARK = 'poison:nested-10000';

function nested(depth: number): unknown {
  let v: unknown = {};
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}

/** The event as an object, the deep value built (what an SDK caller would hold). */
export function materialise(ev: WireEvent): WireEvent {
  return ev.data?.meta === DEEP_MARK ? { ...ev, data: { ...ev.data, meta: nested(DEEP) } } : ev;
}

/** JSON text of events, the deep value written out (JSON.stringify cannot write it). */
export function wireText(v: unknown): string {
  const text = JSON.stringify(v);
  return text.includes(DEEP_MARK) ? text.replaceAll(JSON.stringify(DEEP_MARK), '{"a":'.repeat(DEEP - 1) + '{}' + '}'.repeat(DEEP - 1)) : text;
}

/** `__proto__` made an own key, as JSON.parse makes it (an object literal would set the prototype instead). */
export const PROTO_KEYS_JSON = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":{"polluted":"yes"}}';

/** Each poison kind of issue 12 that fits in one event (the 50 MB job is a job of its own). */
export const POISON_KINDS: readonly PoisonKind[] = [
  { kind: 'nul-string', field: 'data.text', make: (g) => ({ ...g, data: { text: 'before\u0000after' } }) },
  { kind: 'nul-key', field: 'data.meta.k', make: (g) => ({ ...g, data: { ...g.data, meta: { 'k\u0000': 1 } } }) },
  { kind: 'nul-session-id', field: 'sessionId', make: (g) => ({ ...g, sessionId: `${g.sessionId}\u0000` }) },
  { kind: 'lone-surrogate', field: 'data.text', make: (g) => ({ ...g, data: { text: 'a\ud800b' } }) },
  { kind: 'lone-surrogate-key', field: 'data.meta.', make: (g) => ({ ...g, data: { ...g.data, meta: { '\udc00': 1 } } }) },
  { kind: 'lone-surrogate-player', field: 'player', make: (g) => ({ ...g, player: '\ud83d' }) },
  // 128 strings of 16,000 characters: each string within its limit, the event 2 MB.
  { kind: '2mb-event', field: 'event', make: (g) => ({ ...g, data: { ...g.data, meta: { chunks: Array.from({ length: 128 }, () => 'x'.repeat(16_000)) } } }) },
  { kind: 'depth-10000', field: 'data.meta.a.a', make: (g) => ({ ...g, data: { ...g.data, meta: DEEP_MARK } }) },
  { kind: 'proto-keys', field: null, make: (g) => ({ ...g, data: { ...g.data, meta: JSON.parse(PROTO_KEYS_JSON) } }) },
  { kind: 'number-over-2^53', field: 'data.meta.n', make: (g) => ({ ...g, data: { ...g.data, meta: { n: 2 ** 53 + 2 } } }) },
  { kind: 'seq-over-2^53', field: 'seq', make: (g) => ({ ...g, seq: 2 ** 53 + 2 }) },
  { kind: 'session-id-over-2^53', field: 'sessionId', make: (g) => ({ ...g, sessionId: 2 ** 53 + 2 }) },
];

/** Raw job data over the worker's job size limit: one event carrying a string of this many characters. */
export const BIG_JOB_BYTES = 50 * 1024 * 1024;

export type Channel = 'job' | 'sdk' | 'http';

export interface PoisonCaseResult {
  kind: string;
  channel: Channel;
  ok: boolean;
  /** What happened, in words (expected vs got when not ok). */
  detail: string;
}

export interface PoisonOptions {
  databaseUrl: string;
  redisUrl: string;
  /** Queue prefix; its Redis keys are deleted at the end. */
  prefix: string;
  /** Migrate the database first (`game-persist migrate --create-db`). @defaultValue false */
  migrate?: boolean;
  /** The worker's resident memory (peak) must stay under this. @defaultValue 1024 */
  maxWorkerRssMb?: number;
  /** How long to wait for the pipeline to drain. @defaultValue 90000 */
  timeoutMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface PoisonResult {
  ok: boolean;
  detail: string;
  cases: PoisonCaseResult[];
  /** Good events sent and accepted, and of those stored exactly once. */
  goodSent: number;
  goodLanded: number;
  /** Poison events refused by the SDK or the API (a typed error or a per-event verdict). */
  poisonRefused: number;
  /** Poison events and jobs the worker dead-lettered with the expected reason. */
  poisonDeadLettered: number;
  /** The worker's resident memory at the end and at its peak (VmRSS, VmHWM), in MiB; null off Linux. */
  workerRssMb: number | null;
  workerPeakRssMb: number | null;
  /** The worker process was the same one from start to end. */
  workerSurvived: boolean;
}

/** VmRSS and VmHWM of a process, in MiB (Linux /proc); nulls elsewhere. */
function memoryOf(pid: number): { rss: number | null; peak: number | null } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) / 1024;
    return { rss: Math.round(kb('VmRSS')), peak: Math.round(kb('VmHWM')) };
  } catch {
    return { rss: null, peak: null };
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * POSTs a body the server should refuse by its declared length (413): the headers go first and the
 * body only if no answer came within 5 s. Sent at once, the server's early answer and its closing of
 * the connection race the upload, and a client that writes everything before reading (fetch, urllib)
 * may see only the broken upload.
 */
function postUnread(url: string, key: string, body: string): Promise<{ status: number; json: any; text: string }> {
  return new Promise((resolve) => {
    let answered = false;
    const req = httpRequest(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      answered = true;
      clearTimeout(upload);
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let json: any = null;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON: reported through text
        }
        resolve({ status: res.statusCode ?? 0, json, text });
        req.destroy();
      });
      res.on('error', () => resolve({ status: res.statusCode ?? 0, json: null, text }));
    });
    req.on('error', (e) => {
      if (!answered) resolve({ status: 0, json: null, text: errorMessage(e) });
    });
    req.flushHeaders();
    const upload = setTimeout(() => req.end(body), 5000);
  });
}

/** JSON text with keys sorted (jsonb stores keys in its own order); fromEntries keeps `__proto__` an own key. */
const canon = (x: unknown) => JSON.stringify(x, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sent {
  kind: string;
  channel: Channel;
  goods: string[];
  /** The poison event's id, and whether it must land (proto-keys) or be refused. */
  poisonId: string;
  field: string | null;
  /** SDK and HTTP: the refusal they gave (field), or null if they accepted it. */
  refusedField?: string | null;
  refusedCode?: string;
}

export async function runPoison(o: PoisonOptions): Promise<PoisonResult> {
  const log = o.log ?? (() => {});
  const run = `poison${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const pipe: Pipeline = await startPipeline({ databaseUrl: o.databaseUrl, prefix: o.prefix, redisUrl: o.redisUrl, migrate: o.migrate });
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  const queue = openQueue({ connection: redis, prefix: o.prefix, queueName: 'events' });
  const producer = createProducer({ connection: o.redisUrl, prefix: o.prefix });
  const cases: PoisonCaseResult[] = [];
  const sent: Sent[] = [];
  const at = new Date().toISOString();
  const good = (sessionId: string, n: number, seq?: number): WireEvent => ({
    id: uuidv7(), type: 'chat.message', sessionId, player: 'p1', at, ...(seq ? { seq } : {}), data: { text: `good-${n}` },
  });
  const post = async (body: string, contentType = 'application/json') => {
    const res = await fetch(`${pipe.apiUrl}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${pipe.apiKey}`, 'content-type': contentType }, body });
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      // reported below as a body that is not JSON
    }
    return { status: res.status, json, text };
  };
  try {
    const pid = pipe.workerPid();
    if (pid === null) throw new Error('the worker did not start');
    log(`worker pid ${pid}, ${memoryOf(pid).rss ?? '?'} MiB resident`);

    // 1. Raw BullMQ jobs, as a publisher in another language would add them.
    for (const k of POISON_KINDS) {
      const sid = `${run}-${k.kind}-job`;
      const [g1, g2] = [good(sid, 1, 1), good(sid, 2, 3)];
      const poison = k.make(good(sid, 0, 2));
      const data = { v: 1, events: [g1, poison, g2] };
      const text = wireText(data);
      // Queue.add cannot serialise the deep value on this thread's stack; another language's client can.
      if (text.length !== JSON.stringify(data).length) await addRawJob({ redisUrl: o.redisUrl, prefix: o.prefix, queueName: 'events', text });
      else await queue.add(EVENT_JOB_NAME, data);
      sent.push({ kind: k.kind, channel: 'job', goods: [g1.id, g2.id], poisonId: poison.id, field: k.field });
    }
    log('small raw jobs added');
    // The 50 MB job: dead-lettered whole, before its JSON is parsed (job_too_large).
    const bigSid = `${run}-50mb-job`;
    const big = await queue.add(EVENT_JOB_NAME, { v: 1, events: [{ ...good(bigSid, 0, 1), data: { text: 'big', meta: { s: 'x'.repeat(BIG_JOB_BYTES) } } }] }, { jobId: `${run}-50mb` });
    const bigJobId = String(big.id);
    log(`${POISON_KINDS.length + 1} raw jobs added`);

    // 2. SDK calls: the poison emit is refused with a ContractError, the emits beside it are not.
    for (const k of POISON_KINDS) {
      const sid = `${run}-${k.kind}-sdk`;
      const [g1, g2] = [good(sid, 1), good(sid, 2)];
      const poison = k.make(good(sid, 0));
      const results = await Promise.allSettled([producer.emit(g1 as never), producer.emit(materialise(poison) as never), producer.emit(g2 as never)]);
      const s: Sent = { kind: k.kind, channel: 'sdk', goods: [g1.id, g2.id], poisonId: poison.id, field: k.field };
      const [r1, rp, r2] = results;
      if (r1.status !== 'fulfilled' || r2.status !== 'fulfilled') s.goods = [];
      if (rp.status === 'rejected') {
        s.refusedField = rp.reason instanceof ContractError ? rp.reason.field : `(not a ContractError: ${errorMessage(rp.reason).slice(0, 200)})`;
        s.refusedCode = rp.reason instanceof ContractError ? rp.reason.code : 'untyped';
      } else s.refusedField = null;
      sent.push(s);
      if (s.goods.length === 0) cases.push({ kind: k.kind, channel: 'sdk', ok: false, detail: 'a good event beside the poison was refused' });
    }
    await producer.flush();
    log('SDK emits flushed');

    // 3. HTTP batches: a per-event verdict for the poison, the good events beside it accepted.
    for (const k of POISON_KINDS) {
      const sid = `${run}-${k.kind}-http`;
      const [g1, g2] = [good(sid, 1), good(sid, 2)];
      const poison = k.make(good(sid, 0));
      const r = await post(wireText([g1, poison, g2]));
      const s: Sent = { kind: k.kind, channel: 'http', goods: [], poisonId: poison.id, field: k.field };
      if (r.status !== 200 || !Array.isArray(r.json?.results)) {
        cases.push({ kind: k.kind, channel: 'http', ok: false, detail: `HTTP ${r.status}: ${r.text.slice(0, 300)}` });
        continue;
      }
      const [v1, vp, v2] = r.json.results;
      if (v1?.status === 'accepted' && v2?.status === 'accepted') s.goods = [g1.id, g2.id];
      else cases.push({ kind: k.kind, channel: 'http', ok: false, detail: `a good event beside the poison was not accepted: ${JSON.stringify([v1, v2]).slice(0, 300)}` });
      s.refusedField = vp?.status === 'rejected' ? String(vp.field) : null;
      s.refusedCode = vp?.code;
      sent.push(s);
    }
    log('small HTTP batches posted');
    // A 50 MB request body: refused whole with 413 body_too_large before it is parsed.
    const huge = await postUnread(`${pipe.apiUrl}/v1/events`, pipe.apiKey, JSON.stringify([{ ...good(`${run}-50mb-http`, 0), data: { text: 'big', meta: { s: 'x'.repeat(BIG_JOB_BYTES) } } }]));
    cases.push({
      kind: '50mb-body',
      channel: 'http',
      ok: huge.status === 413 && huge.json?.error?.code === 'body_too_large',
      detail: `HTTP ${huge.status} ${huge.json?.error?.code ?? huge.text.slice(0, 200)} (expected 413 body_too_large)`,
    });
    log('HTTP batches posted');

    // 4. After all of it, the worker still processes: one more job and one more HTTP event.
    const afterSid = `${run}-after`;
    const afterJob = good(afterSid, 1, 1);
    await queue.add(EVENT_JOB_NAME, { v: 1, events: [afterJob] });
    const afterHttp = good(afterSid, 2, 2);
    const ra = await post(JSON.stringify([afterHttp]));
    const afterIds = [afterJob.id, ...(ra.json?.results?.[0]?.status === 'accepted' ? [afterHttp.id] : [])];
    if (afterIds.length < 2) cases.push({ kind: 'after', channel: 'http', ok: false, detail: `a good event after the poison was not accepted: HTTP ${ra.status} ${ra.text.slice(0, 200)}` });

    // Wait until every owed event is stored and every raw poison is accounted for (stored or dead-lettered).
    const owed = [...sent.flatMap((s) => s.goods), ...afterIds];
    const mustLand = sent.filter((s) => s.field === null && (s.channel === 'job' || s.refusedField === null)).map((s) => s.poisonId);
    const rawPoison = sent.filter((s) => s.channel === 'job' && s.field !== null).map((s) => s.poisonId);
    const allIds = [...owed, ...sent.map((s) => s.poisonId)];
    const until = Date.now() + (o.timeoutMs ?? 90_000);
    let stored = new Map<string, { n: number; meta: unknown }>();
    let dead: { event_id: string | null; reason_code: string; reason: string; field: string | null; job_id: string | null }[] = [];
    for (;;) {
      stored = new Map();
      for (const r of await pipe.reader.read<{ id: string; meta: unknown }>(POISON_CHAT_SQL, [allIds])) {
        const prev = stored.get(r.id);
        stored.set(r.id, { n: (prev?.n ?? 0) + 1, meta: r.meta });
      }
      dead = await pipe.reader.read(POISON_DEAD_LETTERS_SQL, [sent.map((s) => s.poisonId), [bigJobId]]);
      const done =
        [...owed, ...mustLand].every((id) => stored.has(id)) &&
        rawPoison.every((id) => dead.some((d) => d.event_id === id)) &&
        dead.some((d) => d.job_id === bigJobId);
      if (done || Date.now() > until) break;
      await sleep(200);
    }

    log('drained');
    // Verdicts per kind and channel.
    let poisonRefused = 0;
    let poisonDeadLettered = 0;
    for (const s of sent) {
      const c = { kind: s.kind, channel: s.channel };
      const goodsOk = s.goods.every((id) => stored.get(id)?.n === 1);
      const goodsDetail = `goods stored ${s.goods.map((id) => stored.get(id)?.n ?? 0).join('/')}`;
      if (s.field === null) {
        // Valid JSON: lands once, its keys kept as data; the SDK and the API accept it.
        const row = stored.get(s.poisonId);
        const meta = row?.meta as Record<string, unknown> | undefined;
        const keysKept = !!meta && Object.hasOwn(meta, '__proto__') && Object.hasOwn(meta, 'constructor') && Object.hasOwn(meta, 'prototype') && canon(meta) === canon(JSON.parse(PROTO_KEYS_JSON));
        const ok = goodsOk && row?.n === 1 && keysKept && (s.channel === 'job' || s.refusedField === null);
        cases.push({ ...c, ok, detail: `${goodsDetail}; stored ${row?.n ?? 0}x, meta ${JSON.stringify(meta ?? null).slice(0, 200)}` });
        continue;
      }
      const landed = stored.get(s.poisonId)?.n ?? 0;
      if (s.channel === 'job') {
        const d = dead.find((x) => x.event_id === s.poisonId);
        const ok = goodsOk && landed === 0 && d?.reason_code === 'invalid_event' && (d.field ?? '').startsWith(s.field);
        if (ok) poisonDeadLettered++;
        cases.push({ ...c, ok, detail: `${goodsDetail}; poison stored ${landed}x, dead letter ${d ? `${d.reason_code} ${d.field}: ${d.reason.slice(0, 160)}` : 'none'} (expected invalid_event ${s.field}…)` });
      } else {
        const ok = goodsOk && landed === 0 && s.refusedCode === 'invalid_event' && (s.refusedField ?? '').startsWith(s.field);
        if (ok) poisonRefused++;
        cases.push({ ...c, ok, detail: `${goodsDetail}; poison ${s.refusedField === null ? 'accepted' : `refused ${s.refusedCode} ${s.refusedField}`} (expected invalid_event ${s.field}…), stored ${landed}x` });
      }
    }
    const bigDead = dead.find((d) => d.job_id === bigJobId);
    // Needs the worker's job size check (issue 12: "jobs over a size limit are dead-lettered before
    // their JSON is parsed into the heap"); without it the job's one event is refused as invalid_event.
    const bigOk = bigDead?.reason_code === 'job_too_large';
    if (bigOk) poisonDeadLettered++;
    cases.push({ kind: '50mb-job', channel: 'job', ok: bigOk, detail: `dead letter ${bigDead ? `${bigDead.reason_code} ${bigDead.field ?? ''}: ${bigDead.reason.slice(0, 160)}` : 'none'} (expected job_too_large)` });
    const afterOk = afterIds.every((id) => stored.get(id)?.n === 1);
    cases.push({ kind: 'after', channel: 'job', ok: afterOk, detail: `events sent after the poison stored ${afterIds.map((id) => stored.get(id)?.n ?? 0).join('/')}` });

    const pidNow = pipe.workerPid();
    const workerSurvived = pidNow === pid && alive(pid);
    const mem = memoryOf(pid);
    const maxRss = o.maxWorkerRssMb ?? 1024;
    const memOk = mem.peak === null || mem.peak < maxRss;
    const polluted = ({} as Record<string, unknown>).polluted !== undefined;
    const goodSent = owed.length;
    const goodLanded = owed.filter((id) => stored.get(id)?.n === 1).length;
    const failed = cases.filter((c) => !c.ok);
    const ok = failed.length === 0 && workerSurvived && memOk && !polluted && goodLanded === goodSent;
    const detail = [
      `${goodLanded}/${goodSent} good events stored once; ${poisonRefused} poison events refused by SDK/API, ${poisonDeadLettered} dead-lettered by the worker`,
      `worker ${workerSurvived ? 'survived' : `did not survive (pid ${pid} → ${pidNow})`}, resident ${mem.rss ?? '?'} MiB, peak ${mem.peak ?? '?'} MiB (bound ${maxRss})`,
      ...(polluted ? ['Object.prototype was polluted'] : []),
      ...failed.map((c) => `${c.kind} via ${c.channel}: ${c.detail}`),
    ].join('\n');
    return { ok, detail, cases, goodSent, goodLanded, poisonRefused, poisonDeadLettered, workerRssMb: mem.rss, workerPeakRssMb: mem.peak, workerSurvived };
  } finally {
    await producer.close().catch(() => {});
    await queue.close().catch(() => {});
    await pipe.stop();
    await deletePrefix(o.redisUrl, o.prefix).catch(() => {});
    redis.disconnect();
  }
}
