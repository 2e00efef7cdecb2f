/**
 * The worker's HTTP endpoints against real services: /metrics in Prometheus text format with the
 * pipeline's figures (ingested by type, rejected by reason, batch and lag histograms, queue depth,
 * dead letters, gaps, build info, Node defaults), /healthz, /readyz turning 503 while draining and
 * naming its checks only; with GP_METRICS_TOKEN both need the bearer token; scrapes within
 * GP_METRICS_CACHE_MS share one collection. The ingest lag counts from the enqueue, not from an event's
 * `at`: a session imported with events days old shows seconds of lag (and days of event age).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { METRIC } from '../../../src/metrics/metrics.ts';
import { startWorker, type WorkerHandle } from '../../../src/process/worker.ts';
import { createLogger } from '../../../src/log.ts';
import { dropPrefix, openFixture, rows, testConfig, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { plainQueue } from '../../helpers/worker.ts';

let fx: Fixture;
let worker: WorkerHandle;
const prefix = uniqueName('q');
let base: string;

beforeAll(async () => {
  fx = await openFixture();
  worker = await startWorker(testConfig(fx.db.url, prefix, { GP_JOBS: 'false', GP_METRICS_HOST: '127.0.0.1' }), { log: createLogger('silent'), orm: fx.orm, metricsPort: 0 });
  base = `http://127.0.0.1:${worker.metricsPort}`;
});
afterAll(async () => {
  await worker?.close();
  await fx?.close();
  await dropPrefix(prefix);
});

/** Sample value of `name{labels}` in a Prometheus text exposition (labels matched as a substring). */
function sample(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name && (m[2] ?? '').includes(labels)) return Number(m[3]);
  }
  return undefined;
}

describe('worker endpoints', () => {
  it('serve the pipeline figures on /metrics', async () => {
    const at = new Date(Date.now() - 1500).toISOString();
    const events = [
      { id: uuidv7(), type: 'session.created', sessionId: 'm-1', seq: 1, at, data: { gameType: 'hokm' } },
      { id: uuidv7(), type: 'move', sessionId: 'm-1', seq: 2, at, player: 'a', data: { action: 'play' } },
      { id: uuidv7(), type: 'move', sessionId: 'm-1', seq: 4, at, player: 'a', data: { action: 'play' } }, // seq 3 missing: a gap
      { id: 'not-a-uuid', type: 'vote', sessionId: 'm-1', seq: 5, at, data: {} },
    ];
    const q = plainQueue(prefix);
    try {
      await q.add('events', { v: 1, events });
      await q.add('events', { v: 1, events: events.slice(0, 1) }); // a duplicate
    } finally {
      await q.close();
    }
    await waitFor('stored', async () => Number((await rows(fx.orm, `select count(*) as n from dead_letters`))[0]!.n) === 1);
    await waitFor('duplicate seen', () => worker.stats.duplicates >= 1);
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(sample(text, METRIC.eventsIngested, 'type="move"')).toBe(2);
    expect(sample(text, METRIC.eventsIngested, 'type="session.created"')).toBe(1);
    expect(sample(text, METRIC.duplicates)).toBe(1);
    expect(sample(text, METRIC.rejected, 'reason="invalid_event"')).toBe(1);
    expect(sample(text, `${METRIC.batchRows}_count`)).toBeGreaterThanOrEqual(1);
    expect(sample(text, `${METRIC.batchSeconds}_count`)).toBeGreaterThanOrEqual(1);
    expect(sample(text, `${METRIC.lag}_count`)).toBe(3);
    expect(sample(text, `${METRIC.eventAge}_count`)).toBe(3);
    expect(sample(text, `${METRIC.eventAge}_bucket`, 'le="1"')).toBe(0); // 1.5 s old when sent
    expect(sample(text, METRIC.queueJobs, 'state="waiting"')).toBe(0);
    expect(sample(text, METRIC.deadLetters, 'reason="invalid_event"')).toBe(1);
    expect(sample(text, METRIC.gapsOpen)).toBe(1);
    expect(sample(text, METRIC.gapOldest)).toBeGreaterThan(0);
    expect(sample(text, METRIC.sessions, 'status="created"')).toBe(1);
    expect(sample(text, METRIC.redisUp)).toBe(1);
    expect(sample(text, METRIC.postgresUp)).toBe(1);
    expect(sample(text, METRIC.aggregateDrift)).toBe(-1);
    expect(sample(text, METRIC.dbPool, 'state="total"')).toBeGreaterThanOrEqual(1);
    expect(sample(text, METRIC.buildInfo, 'version="')).toBe(1);
    expect(sample(text, 'gp_process_cpu_seconds_total')).toBeGreaterThan(0);
    // No session or player ids in any label.
    expect(text).not.toMatch(/m-1|player="/);
  });

  it('answer /healthz, and /readyz until the worker drains', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { ready: boolean; checks: Record<string, unknown>[] };
    expect(body).toMatchObject({ ready: true, checks: expect.arrayContaining([{ name: 'migrations', ok: true }]) });
    // Names and verdicts only: why a check fails is written to the worker's log.
    for (const c of body.checks) expect(Object.keys(c).sort()).toEqual(['name', 'ok']);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const closing = worker.close();
    // While the batch in hand is finished, the endpoint may still answer: then it must say not ready.
    const during = await fetch(`${base}/readyz`).then((r) => r.status, () => 'closed');
    expect([503, 'closed']).toContain(during);
    await closing;
  });
});

describe('worker endpoints with GP_METRICS_TOKEN', () => {
  const token = 'scrape-token-0123456789abcdef';
  let secured: WorkerHandle | undefined;
  const tokenPrefix = uniqueName('q');
  afterAll(async () => {
    await secured?.close();
    await dropPrefix(tokenPrefix);
  });

  it('need the bearer token for /metrics and /readyz (401 without or with a wrong one), not for /healthz; scrapes share a cached collection', async () => {
    secured = await startWorker(
      testConfig(fx.db.url, tokenPrefix, { GP_JOBS: 'false', GP_METRICS_HOST: '127.0.0.1', GP_METRICS_TOKEN: token, GP_METRICS_CACHE_MS: '60000' }),
      { log: createLogger('silent'), orm: fx.orm, metricsPort: 0 },
    );
    const url = `http://127.0.0.1:${secured.metricsPort}`;
    const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    for (const path of ['/metrics', '/readyz']) {
      const none = await fetch(`${url}${path}`);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await fetch(`${url}${path}`, bearer(`${token}x`))).status, path).toBe(401);
      expect((await fetch(`${url}${path}`, bearer(token.slice(0, -1)))).status, path).toBe(401);
      expect((await fetch(`${url}${path}`, { headers: { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` } })).status, path).toBe(401);
      expect((await fetch(`${url}${path}`, bearer(token))).status, path).toBe(200);
    }

    // A flood of scrapes (concurrent, then one after another) runs the collection and its database counts once.
    const registry = secured.metrics.registry;
    const collect = registry.metrics.bind(registry);
    let collections = 0;
    registry.metrics = () => (collections++, collect());
    try {
      const texts = await Promise.all(Array.from({ length: 20 }, () => fetch(`${url}/metrics`, bearer(token)).then((r) => r.text())));
      for (let i = 0; i < 10; i++) texts.push(await fetch(`${url}/metrics`, bearer(token)).then((r) => r.text()));
      expect(new Set(texts).size).toBe(1);
      expect(texts[0]).toContain(METRIC.queueJobs);
      // The collection before the spy (the 200 above) is still fresh: none since.
      expect(collections).toBe(0);
    } finally {
      registry.metrics = collect;
    }
  });
});

describe('the ingest lag of a session imported days after it was played', () => {
  let importing: WorkerHandle | undefined;
  const importPrefix = uniqueName('q');
  afterAll(async () => {
    await importing?.close();
    await dropPrefix(importPrefix);
  });

  it('counts from the enqueue: seconds in gp_ingest_lag_seconds and WorkerStats.lag, days in gp_event_age_seconds', async () => {
    importing = await startWorker(testConfig(fx.db.url, importPrefix, { GP_JOBS: 'false', GP_METRICS_HOST: '127.0.0.1', GP_METRICS_CACHE_MS: '0' }), {
      log: createLogger('silent'),
      orm: fx.orm,
      metricsPort: 0,
    });
    const threeDays = 3 * 86_400_000;
    const at = (i: number) => new Date(Date.now() - threeDays + i * 1000).toISOString();
    const events = [
      { id: uuidv7(), type: 'session.created', sessionId: 'imported-1', seq: 1, at: at(0), data: { gameType: 'hokm' } },
      ...Array.from({ length: 9 }, (_, i) => ({ id: uuidv7(), type: 'move', sessionId: 'imported-1', seq: i + 2, at: at(i + 1), player: 'a', data: { action: 'play' } })),
    ];
    const q = plainQueue(importPrefix);
    try {
      await q.add('events', { v: 1, events });
    } finally {
      await q.close();
    }
    await waitFor('stored', async () => Number((await rows(fx.orm, `select count(*) as n from moves where session_id = 'imported-1'`))[0]!.n) === 9);
    await waitFor('recorded', () => importing!.stats.lag.count === 10);
    const text = await (await fetch(`http://127.0.0.1:${importing.metricsPort}/metrics`)).text();
    // Enqueued moments ago and committed promptly: within a minute (bucket edges are what the metric has).
    expect(sample(text, `${METRIC.lag}_count`)).toBe(10);
    expect(sample(text, `${METRIC.lag}_bucket`, 'le="60"')).toBe(10);
    expect(sample(text, `${METRIC.lag}_sum`)).toBeLessThan(10 * 60);
    expect(importing.stats.lag.maxMs).toBeLessThan(60_000);
    // The event time is kept apart: three days old, as the game server stamped them.
    expect(sample(text, `${METRIC.eventAge}_count`)).toBe(10);
    expect(sample(text, `${METRIC.eventAge}_bucket`, 'le="86400"')).toBe(0);
    expect(sample(text, `${METRIC.eventAge}_bucket`, 'le="604800"')).toBe(10);
    expect(importing.stats.eventAge.maxMs).toBeGreaterThan(threeDays - 60_000);

    // A producer whose clock runs an hour ahead of the worker's: its job looks enqueued in the future,
    // and counts as 0 s of lag, never as negative.
    const sumBefore = importing.stats.lag.sumMs;
    const q2 = plainQueue(importPrefix);
    try {
      await q2.add('events', { v: 1, events: [{ id: uuidv7(), type: 'move', sessionId: 'imported-1', seq: 11, at: new Date().toISOString(), player: 'a', data: { action: 'play' } }] }, { timestamp: Date.now() + 3_600_000 });
    } finally {
      await q2.close();
    }
    await waitFor('recorded', () => importing!.stats.lag.count === 11);
    expect(importing.stats.lag.sumMs).toBe(sumBefore);
  });
});
