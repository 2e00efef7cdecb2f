/**
 * The dashboards and alert rules against a real Prometheus (Debian's `prometheus` binary on loopback):
 * it scrapes a worker under load, then every PromQL expression of every dashboard panel and alert rule
 * is evaluated through its HTTP API; each must succeed without warnings, those that should have data
 * must return some, and every metric they name must be one the worker exports. Also promtool's checks
 * and rule unit tests, and the generated dashboard files being current.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer } from '../../../src/producers/index.ts';
import { DASHBOARDS, RATE } from '../../../src/metrics/dashboards.ts';
import { startWorker, type WorkerHandle } from '../../../src/process/worker.ts';
import { createLogger } from '../../../src/log.ts';
import { REDIS_URL, dropPrefix, openFixture, rows, testConfig, uniqueName, waitFor, type Fixture } from '../../helpers/services.ts';
import { plainQueue } from '../../helpers/worker.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PROM_DIR = join(ROOT, 'prometheus');

function need(bin: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${bin} not found: install Debian's prometheus package (apt-get install prometheus); .ci/run does`);
  return r.stdout.trim();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let fx: Fixture;
let worker: WorkerHandle;
let prom: ChildProcess | null = null;
let promUrl: string;
let dir: string;
const prefix = uniqueName('q');
let loading = true;

beforeAll(async () => {
  const prometheus = need('prometheus');
  fx = await openFixture();
  worker = await startWorker(testConfig(fx.db.url, prefix, { GP_METRICS_HOST: '127.0.0.1' }), { log: createLogger('silent'), orm: fx.orm, metricsPort: 0 });
  dir = mkdtempSync(join(tmpdir(), 'gp-prom-'));
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: [${JSON.stringify(join(PROM_DIR, 'alerts.yml'))}]`,
      'scrape_configs:',
      '  - job_name: game-persist',
      `    static_configs: [{ targets: ["127.0.0.1:${worker.metricsPort}"] }]`,
    ].join('\n'),
  );
  prom = spawn(prometheus, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  prom.stderr!.on('data', (d) => (stderr += d));
  await waitFor(`prometheus ready (${stderr})`, async () => (await fetch(`${promUrl}/-/ready`).catch(() => null))?.ok === true, 30_000);

  // Load for the whole file: games with lifecycle, moves and tasks, plus one bad event.
  const p = createProducer({ connection: REDIS_URL, prefix });
  void (async () => {
    for (let i = 0; loading; i++) {
      const sessionId = `prom-${i}`;
      await p.sessionCreated({ sessionId, gameType: 'hokm' });
      await Promise.all(Array.from({ length: 20 }, (_, k) => p.move({ sessionId, player: `pl-${k % 4}`, action: 'play' })));
      await p.taskCompleted({ sessionId, player: 'pl-0', taskType: 'wires', xp: 5 });
      await p.sessionFinished({ sessionId });
      await new Promise((r) => setTimeout(r, 100));
    }
    await p.close();
  })();
  const q = plainQueue(prefix);
  await q.add('events', { v: 1, events: [{ id: 'bad', type: 'move', sessionId: 'x', seq: 1, at: new Date().toISOString(), data: {} }] });
  await q.close();
});

afterAll(async () => {
  loading = false;
  prom?.kill('SIGTERM');
  await worker?.close();
  await fx?.close();
  await dropPrefix(prefix);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface PromResponse {
  status: string;
  warnings?: string[];
  error?: string;
  data: { resultType: string; result: unknown[] };
}
async function promQuery(expr: string): Promise<PromResponse> {
  const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  return (await res.json()) as PromResponse;
}

/** Metric names an expression reads (identifiers followed by a selector, range or closing argument). */
function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.replace(/"[^"]*"/g, '""').matchAll(/\b(gp_[a-z0-9_]+|up)\b(?!\s*\()/g)) names.add(m[1] as string);
  return [...names];
}

describe('dashboards and alert rules against a real Prometheus', () => {
  it('evaluate every panel expression: success, no warnings, data where expected, only exported metrics', async () => {
    // Enough scrapes for rate() windows and histograms to have two points.
    await waitFor('a few scrapes with data', async () => {
      const r = await promQuery(`sum(rate(gp_events_ingested_total[30s])) > 0`);
      return r.status === 'success' && r.data.result.length > 0;
    }, 60_000);
    await waitFor('the rejected event scraped', async () => (await promQuery('gp_events_rejected_total')).data.result.length > 0, 30_000);
    const exported = new Set(((await (await fetch(`${promUrl}/api/v1/label/__name__/values`)).json()) as { data: string[] }).data);
    const problems: string[] = [];
    let evaluated = 0;
    for (const d of DASHBOARDS)
      for (const p of d.panels)
        for (const t of p.targets ?? []) {
          const expr = t.expr.replaceAll(RATE, '30s');
          const r = await promQuery(expr);
          evaluated++;
          if (r.status !== 'success') problems.push(`${d.uid} "${p.title}": ${r.error}`);
          else if (r.warnings?.length) problems.push(`${d.uid} "${p.title}": warnings ${r.warnings.join('; ')}`);
          else if (t.hasData && !r.data.result.length) problems.push(`${d.uid} "${p.title}": no data for ${expr}`);
          for (const n of metricNames(expr)) if (!exported.has(n)) problems.push(`${d.uid} "${p.title}": ${n} is not exported by the worker`);
        }
    expect(problems).toEqual([]);
    expect(evaluated).toBeGreaterThan(25);
  });

  it('load every alert rule healthy and evaluate each expression without error', async () => {
    await waitFor('rules evaluated', async () => {
      const r = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { lastEvaluation: string }[] }[] } };
      return r.data.groups.flatMap((g) => g.rules).every((x) => !x.lastEvaluation.startsWith('0001'));
    });
    const r = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; query: string; health: string; lastError?: string }[] }[] } };
    const rules = r.data.groups.flatMap((g) => g.rules);
    // Every rule of alerts.yml, loaded.
    expect(rules.length).toBe(readFileSync(join(PROM_DIR, 'alerts.yml'), 'utf8').match(/^\s+- alert: /gm)!.length);
    const exported = new Set(((await (await fetch(`${promUrl}/api/v1/label/__name__/values`)).json()) as { data: string[] }).data);
    for (const rule of rules) {
      expect(rule, rule.name).toMatchObject({ health: 'ok' });
      const q = await promQuery(rule.query);
      expect(q.status, rule.name).toBe('success');
      expect(q.warnings ?? [], rule.name).toEqual([]);
      for (const n of metricNames(rule.query)) expect(exported.has(n), `${rule.name}: ${n} exported`).toBe(true);
    }
    // Healthy worker: nothing critical fires.
    const alerts = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: { labels: { alertname: string; severity: string } }[] } };
    expect(alerts.data.alerts.filter((a) => a.labels.severity === 'critical').map((a) => a.labels.alertname)).toEqual([]);
  });

  it('run the table panels\' SQL against a migrated database', async () => {
    for (const d of DASHBOARDS) for (const p of d.panels) if (p.sql) expect(Array.isArray(await rows(fx.orm, p.sql))).toBe(true);
  });
});

describe('prometheus files and dashboards', () => {
  it('pass promtool check config, check rules and the rule unit tests', () => {
    const promtool = need('promtool');
    for (const args of [['check', 'config', 'prometheus.yml'], ['check', 'rules', 'alerts.yml'], ['test', 'rules', 'alerts.test.yml']]) {
      const r = spawnSync(promtool, args, { cwd: PROM_DIR, encoding: 'utf8' });
      expect(r.status, `promtool ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it('are the committed, generated dashboards', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/grafana.ts'), '--check'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
});
