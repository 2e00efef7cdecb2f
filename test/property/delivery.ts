/**
 * The delivery plan of a run, decided by the run's delivery seed: every event sent in a shuffled
 * order (mostly near its session's turn, some far away), some sent again (another wire form of the same
 * event: id in upper case, integer ids as text) in another job, the contract-breaking variants sent once,
 * all split into jobs of random sizes; and the points at which a worker is killed.
 */
import type { RunCase, WireEvent } from './arbitraries.ts';

/** sfc32: a small seeded PRNG (the plan must not depend on Math.random). */
export function prng(seed: number): () => number {
  let [a, b, c, d] = [0x9e3779b9, 0x243f6a88, 0xb7e15162, seed >>> 0];
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) + t;
    return t / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return next;
}

export interface KillPoint {
  /** Kill once this share of the jobs' events (afterJob / jobs) is stored. */
  afterJob: number;
  /** Which of the live workers (index modulo their number). */
  worker: number;
  /** Wait this long after reaching the point (the kill timing is not reproducible anyway). */
  delayMs: number;
}

export interface Plan {
  jobs: WireEvent[][];
  /** Events sent in total (first sends, re-sends and refused variants). */
  sends: number;
  duplicates: number;
  refused: number;
  kills: KillPoint[];
}

export interface PlanOptions {
  kills: number;
  /** Re-send this share of the events (again, in another job). */
  duplicateRate?: number;
  /** Whether to send an event's contract-breaking variant (false when the contract has come to accept it). */
  sendRefused?: (e: WireEvent) => boolean;
}

export function deliveryPlan(rc: RunCase, opts: PlanOptions): Plan {
  const rnd = prng(rc.deliverySeed);
  const n = Math.max(1, rc.sessions.length);
  const dupRate = opts.duplicateRate ?? 0.12;
  // How far an event may wander from its session's turn: a share of the whole run.
  const window = () => [0.002, 0.01, 0.05, 0.2][Math.floor(rnd() * 4)]!;
  const sends: { key: number; event: WireEvent; id: string }[] = [];
  let duplicates = 0;
  let refused = 0;
  for (const s of rc.sessions) {
    const w = window();
    s.events.forEach((e, k) => {
      const home = (s.index + k / s.events.length) / n;
      const key = rnd() < 0.15 ? rnd() : home + (rnd() * 2 - 1) * w;
      sends.push({ key, event: e.forms[0]!, id: e.id });
      for (let again = rnd() < dupRate ? (rnd() < 0.2 ? 2 : 1) : 0; again > 0; again--) {
        duplicates++;
        const form = rnd() < 0.5 ? e.forms[1]! : e.forms[0]!;
        sends.push({ key: rnd() < 0.3 ? rnd() : key + rnd() * w * 2, event: form, id: e.id });
      }
      if (e.refused && (opts.sendRefused?.(e.refused) ?? true)) {
        refused++;
        sends.push({ key: key + (rnd() * 2 - 1) * w, event: e.refused, id: `refused:${e.id}` });
      }
    });
  }
  sends.sort((a, b) => a.key - b.key);
  const jobs: WireEvent[][] = [];
  let carry: typeof sends = [];
  let i = 0;
  while (i < sends.length || carry.length) {
    const size = rnd() < 0.2 ? 1 + Math.floor(rnd() * 5) : rnd() < 0.65 ? 5 + Math.floor(rnd() * 35) : 40 + Math.floor(rnd() * 80);
    const job: WireEvent[] = [];
    const ids = new Set<string>();
    const next: typeof sends = [];
    for (const c of carry) {
      if (ids.has(c.id)) next.push(c);
      else {
        job.push(c.event);
        ids.add(c.id);
      }
    }
    while (job.length < size && i < sends.length) {
      const c = sends[i++]!;
      // A re-send goes into another job than the copy before it.
      if (ids.has(c.id)) next.push(c);
      else {
        job.push(c.event);
        ids.add(c.id);
      }
    }
    carry = next;
    if (job.length) jobs.push(job);
  }
  const kills = Array.from({ length: opts.kills }, () => ({
    afterJob: Math.floor(rnd() * jobs.length * 0.95),
    worker: Math.floor(rnd() * 64),
    delayMs: Math.floor(rnd() * 800),
  })).sort((a, b) => a.afterJob - b.afterJob);
  return { jobs, sends: sends.length, duplicates, refused, kills };
}
