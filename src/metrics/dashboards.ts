/**
 * The Grafana dashboards, as data: every panel's PromQL built from the metric names in metrics.ts.
 * `scripts/grafana.ts --write` renders them into grafana/dashboards/*.json (CI checks they are current),
 * and the real-Prometheus test evaluates every expression here against a Prometheus scraping a worker.
 */
import { METRIC } from './metrics.ts';

export const PROMETHEUS_UID = 'gp-prometheus';
export const POSTGRES_UID = 'gp-postgres';
/** Grafana's rate window; the test substitutes a literal one. */
export const RATE = '$__rate_interval';

export interface Target {
  expr: string;
  legend?: string;
  /** The expression returns series as soon as a worker has ingested anything (checked by the test). */
  hasData: boolean;
}

export interface Panel {
  title: string;
  kind: 'timeseries' | 'stat' | 'table';
  unit?: string;
  targets?: Target[];
  /**
   * A PostgreSQL query (table panels): what no metric may carry, such as player ids. It may read only the
   * views of the gp_dashboards schema (migrations/…_dashboard_views.ts): Grafana's role reads nothing else.
   */
  sql?: string;
  description?: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
}

const M = METRIC;
const t = (expr: string, legend: string, hasData = true): Target => ({ expr, legend, hasData });

export const PIPELINE: Dashboard = {
  uid: 'gp-pipeline',
  title: 'game-persist — Pipeline',
  panels: [
    { title: 'Workers up', kind: 'stat', targets: [t(`sum(up{job="game-persist"})`, 'workers')] },
    { title: 'Events ingested / s', kind: 'stat', unit: 'ops', targets: [t(`sum(rate(${M.eventsIngested}[${RATE}]))`, 'events/s')] },
    { title: 'Ingest lag p99 (enqueue to commit)', kind: 'stat', unit: 's', targets: [t(`histogram_quantile(0.99, sum by (le) (rate(${M.lag}_bucket[${RATE}])))`, 'p99')] },
    { title: 'Queue waiting', kind: 'stat', targets: [t(`max(${M.queueJobs}{state="waiting"})`, 'waiting')] },
    {
      title: 'Throughput by event type',
      kind: 'timeseries',
      unit: 'ops',
      targets: [t(`sum by (type) (rate(${M.eventsIngested}[${RATE}]))`, '{{type}}')],
    },
    {
      title: 'Enqueue-to-commit lag',
      kind: 'timeseries',
      unit: 's',
      description: "From each job's enqueue to the commit of its events: what the pipeline adds (queue wait, batching, the write).",
      targets: [
        t(`histogram_quantile(0.5, sum by (le) (rate(${M.lag}_bucket[${RATE}])))`, 'p50'),
        t(`histogram_quantile(0.99, sum by (le) (rate(${M.lag}_bucket[${RATE}])))`, 'p99'),
      ],
    },
    {
      title: 'Event age at commit',
      kind: 'timeseries',
      unit: 's',
      description: "From each event's own `at` to its commit: the lag plus what game servers buffered before enqueueing; days for imported or backfilled sessions (no alert).",
      targets: [
        t(`histogram_quantile(0.5, sum by (le) (rate(${M.eventAge}_bucket[${RATE}])))`, 'p50'),
        t(`histogram_quantile(0.99, sum by (le) (rate(${M.eventAge}_bucket[${RATE}])))`, 'p99'),
      ],
    },
    { title: 'Queue depth by state', kind: 'timeseries', targets: [t(`max by (state) (${M.queueJobs})`, '{{state}}')] },
    {
      title: 'Batch size',
      kind: 'timeseries',
      targets: [
        t(`sum(rate(${M.batchRows}_sum[${RATE}])) / sum(rate(${M.batchRows}_count[${RATE}]))`, 'mean events per batch'),
        t(`histogram_quantile(0.99, sum by (le) (rate(${M.batchRows}_bucket[${RATE}])))`, 'p99'),
      ],
    },
    {
      title: 'Batch write time',
      kind: 'timeseries',
      unit: 's',
      targets: [
        t(`histogram_quantile(0.5, sum by (le) (rate(${M.batchSeconds}_bucket[${RATE}])))`, 'p50'),
        t(`histogram_quantile(0.99, sum by (le) (rate(${M.batchSeconds}_bucket[${RATE}])))`, 'p99'),
      ],
    },
    {
      title: 'Errors',
      kind: 'timeseries',
      unit: 'ops',
      targets: [
        t(`sum by (reason) (rate(${M.rejected}[${RATE}]))`, 'rejected: {{reason}}'),
        t(`sum(rate(${M.duplicates}[${RATE}]))`, 'duplicates'),
        t(`sum(rate(${M.batchRetries}[${RATE}]))`, 'write retries'),
        t(`sum(rate(${M.batchFailures}[${RATE}]))`, 'batches given back'),
      ],
    },
    { title: 'Dead letters waiting', kind: 'timeseries', targets: [t(`max by (reason) (${M.deadLetters})`, '{{reason}}')] },
    {
      title: 'Sequence gaps',
      kind: 'timeseries',
      targets: [
        t(`max(${M.gapsOpen})`, 'open gaps'),
        t(`max(${M.gapOldest})`, 'oldest gap (s)'),
        t(`sum(increase(${M.seqsGivenUp}[${RATE}]))`, 'seqs given up as lost'),
        t(`sum(increase(${M.seqsIssuedMissing}[${RATE}]))`, 'seqs reported issued, not stored'),
      ],
    },
    {
      title: 'Dependencies',
      kind: 'timeseries',
      targets: [t(`min(${M.redisUp})`, 'redis up'), t(`min(${M.postgresUp})`, 'postgres up'), t(`min(${M.redisEvictionSafe})`, 'redis noeviction')],
    },
    {
      title: 'Database pool',
      kind: 'timeseries',
      targets: [t(`sum by (state) (${M.dbPool})`, '{{state}}')],
    },
    {
      title: 'pg-boss jobs',
      kind: 'timeseries',
      targets: [t(`max by (queue, state) (${M.bossJobs})`, '{{queue}} {{state}}')],
    },
    {
      title: 'Worker memory and CPU',
      kind: 'timeseries',
      targets: [t(`sum by (instance) (gp_process_resident_memory_bytes)`, 'RSS {{instance}}'), t(`sum by (instance) (rate(gp_process_cpu_seconds_total[${RATE}]))`, 'CPU {{instance}}')],
    },
  ],
};

export const GAMES: Dashboard = {
  uid: 'gp-games',
  title: 'game-persist — Games',
  panels: [
    { title: 'Active sessions', kind: 'stat', targets: [t(`sum(max by (status) (${M.sessions}))`, 'active')] },
    { title: 'Players', kind: 'stat', targets: [t(`max(${M.players})`, 'players')] },
    {
      title: 'Sessions finished / min',
      kind: 'stat',
      targets: [t(`60 * sum(rate(${M.eventsIngested}{type=~"session.finished|session.abandoned"}[${RATE}]))`, 'per minute', false)],
    },
    { title: 'Active sessions by status', kind: 'timeseries', targets: [t(`max by (status) (${M.sessions})`, '{{status}}')] },
    {
      title: 'Sessions started and ended',
      kind: 'timeseries',
      unit: 'ops',
      targets: [t(`sum by (type) (rate(${M.eventsIngested}{type=~"session\\\\..*"}[${RATE}]))`, '{{type}}')],
    },
    { title: 'Events by type', kind: 'timeseries', unit: 'ops', targets: [t(`sum by (type) (rate(${M.eventsIngested}[${RATE}]))`, '{{type}}')] },
    {
      title: 'Snapshots',
      kind: 'timeseries',
      targets: [t(`sum(rate(${M.snapshotsTaken}[${RATE}]))`, 'taken / s'), t(`max(${M.snapshotMismatches})`, 'hash mismatches')],
    },
    {
      title: 'Aggregates',
      kind: 'timeseries',
      targets: [t(`max(${M.statDeltasPending})`, 'stat deltas pending'), t(`max(${M.aggregateDrift})`, 'drift at last verify')],
    },
    {
      title: 'Top players by XP',
      kind: 'table',
      description: 'From PostgreSQL (player ids never go into metric labels), through the gp_dashboards view its role may read.',
      sql: `SELECT player_id AS "player", name AS "name", xp AS "XP", games AS "games", wins AS "wins"
FROM gp_dashboards.top_players ORDER BY xp DESC, player_id LIMIT 10`,
    },
  ],
};

export const DASHBOARDS = [PIPELINE, GAMES];

/** Renders a dashboard as Grafana JSON (schema 39), panels in a 24-column grid. */
export function renderDashboard(d: Dashboard): Record<string, unknown> {
  let x = 0;
  let y = 0;
  let rowH = 0;
  const panels = d.panels.map((p, i) => {
    const w = p.kind === 'stat' ? 6 : p.kind === 'table' ? 24 : 12;
    const h = p.kind === 'stat' ? 4 : 8;
    if (x + w > 24) {
      x = 0;
      y += rowH;
      rowH = 0;
    }
    const gridPos = { x, y, w, h };
    x += w;
    rowH = Math.max(rowH, h);
    const base = { id: i + 1, type: p.kind, title: p.title, gridPos, ...(p.description ? { description: p.description } : {}) };
    if (p.sql)
      return {
        ...base,
        datasource: { type: 'grafana-postgresql-datasource', uid: POSTGRES_UID },
        targets: [{ refId: 'A', datasource: { type: 'grafana-postgresql-datasource', uid: POSTGRES_UID }, format: 'table', rawQuery: true, editorMode: 'code', rawSql: p.sql }],
      };
    return {
      ...base,
      datasource: { type: 'prometheus', uid: PROMETHEUS_UID },
      fieldConfig: { defaults: { ...(p.unit ? { unit: p.unit } : {}) }, overrides: [] },
      options: p.kind === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'] }, graphMode: 'area' } : { legend: { displayMode: 'list', placement: 'bottom' } },
      targets: (p.targets ?? []).map((tg, k) => ({
        refId: String.fromCharCode(65 + k),
        datasource: { type: 'prometheus', uid: PROMETHEUS_UID },
        expr: tg.expr,
        legendFormat: tg.legend ?? '',
      })),
    };
  });
  return {
    uid: d.uid,
    title: d.title,
    tags: ['game-persist'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    panels,
  };
}
