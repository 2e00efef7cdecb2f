/**
 * INSERT of one family's events: one statement per family per batch.
 *
 *   INSERT INTO <table> (<cols>) SELECT <cols> FROM json_to_recordset($1::json) AS x(<col type>, ...)
 *   ON CONFLICT (<key>, id) DO NOTHING RETURNING id
 *
 * $1: a JSON array of row objects (snake_case keys). Result: the ids really inserted, so callers
 * count (and later aggregate) only new rows; an event id seen before is a duplicate and yields no row.
 * One JSON parameter keeps nested jsonb values un-escaped and the statement text constant (prepared
 * once per connection); columns are listed here and nowhere else.
 */
import type { Family, ValidEvent } from '../../contract/events.ts';

type Getter = (e: ValidEvent, d: Record<string, any>) => unknown;

/**
 * Where a column goes back in the event's wire-form `data` when a history is read: under `key` (absent
 * when the column is NULL, unless `keepNull`), spread into `data` (a jsonb of several fields), or as the
 * whole `data`. Envelope columns have none.
 */
export type Wire = { key: string; keepNull?: boolean } | { spread: true } | { whole: true };

export interface Column {
  name: string;
  type: string;
  get: Getter;
  wire?: Wire;
}

const col = (name: string, type: string, get: Getter, wire?: Wire): Column => ({ name, type, get, ...(wire ? { wire } : {}) });
const dataField = (name: string, type: string, key: string) => col(name, type, (_e, d) => d[key] ?? null, { key });

const common = [
  col('session_id', 'text', (e) => e.sessionId),
  col('id', 'uuid', (e) => e.id),
  col('seq', 'bigint', (e) => e.seq),
  col('type', 'text', (e) => e.type),
  col('at', 'timestamptz', (e) => e.at),
  col('player_id', 'text', (e) => e.player),
];
const meta = dataField('data', 'jsonb', 'meta');

/** The listed data fields that are present, as one object (or null when none is). */
function pick(d: Record<string, unknown>, keys: string[]): Record<string, unknown> | null {
  let out: Record<string, unknown> | null = null;
  for (const k of keys) if (d[k] !== undefined) (out ??= {})[k] = d[k];
  return out;
}

interface FamilyTable {
  table: string;
  /** Leading key column: session_id, or tenant for join-queue events. */
  key: 'session_id' | 'tenant';
  columns: Column[];
}

export const FAMILY_TABLES: Record<Family, FamilyTable> = {
  session: {
    table: 'session_events',
    key: 'session_id',
    columns: [...common, col('data', 'jsonb', (_e, d) => d, { whole: true })],
  },
  participant: {
    table: 'participant_events',
    key: 'session_id',
    columns: [
      ...common,
      dataField('role', 'text', 'role'),
      dataField('team', 'text', 'team'),
      dataField('position', 'int', 'position'),
      dataField('outcome', 'text', 'outcome'),
      dataField('xp', 'int', 'xp'),
      dataField('score', 'float8', 'score'),
      col('data', 'jsonb', (_e, d) => pick(d, ['name', 'reason', 'meta']), { spread: true }),
    ],
  },
  move: {
    table: 'moves',
    key: 'session_id',
    columns: [...common, dataField('action', 'text', 'action'), dataField('round', 'int', 'round'), dataField('turn', 'int', 'turn'), dataField('data', 'jsonb', 'data')],
  },
  vote: {
    table: 'votes',
    key: 'session_id',
    // A null target is a skip: kept in the history, unlike absent optional fields.
    columns: [...common, col('target_id', 'text', (_e, d) => d.target ?? null, { key: 'target', keepNull: true }), dataField('round', 'int', 'round'), dataField('kind', 'text', 'kind'), meta],
  },
  chat: {
    table: 'chat_messages',
    key: 'session_id',
    columns: [...common, dataField('channel', 'text', 'channel'), dataField('round', 'int', 'round'), dataField('text', 'text', 'text'), meta],
  },
  task: {
    table: 'task_logs',
    key: 'session_id',
    columns: [
      ...common,
      dataField('task_type', 'text', 'taskType'),
      col('xp', 'int', (_e, d) => d.xp ?? 0, { key: 'xp' }),
      col('fake', 'boolean', (_e, d) => d.fake ?? false, { key: 'fake' }),
      dataField('description', 'text', 'description'),
      meta,
    ],
  },
  turn: {
    table: 'turn_results',
    key: 'session_id',
    columns: [
      ...common,
      dataField('turn', 'int', 'turn'),
      dataField('round', 'int', 'round'),
      dataField('results', 'jsonb', 'results'),
      dataField('state', 'jsonb', 'state'),
      dataField('patch', 'jsonb', 'patch'),
      dataField('state_hash', 'text', 'stateHash'),
    ],
  },
  agent: {
    table: 'agent_logs',
    key: 'session_id',
    columns: [
      ...common,
      dataField('model', 'text', 'model'),
      dataField('provider', 'text', 'provider'),
      dataField('agent', 'text', 'agent'),
      dataField('turn', 'int', 'turn'),
      dataField('prompt', 'text', 'prompt'),
      dataField('response', 'text', 'response'),
      col('prompt_chars', 'int', (_e, d) => d.promptChars ?? (typeof d.prompt === 'string' ? d.prompt.length : null), { key: 'promptChars' }),
      col('response_chars', 'int', (_e, d) => d.responseChars ?? (typeof d.response === 'string' ? d.response.length : null), { key: 'responseChars' }),
      dataField('prompt_tokens', 'int', 'promptTokens'),
      dataField('completion_tokens', 'int', 'completionTokens'),
      dataField('thinking_tokens', 'int', 'thinkingTokens'),
      dataField('latency_ms', 'float8', 'latencyMs'),
      meta,
    ],
  },
  queue: {
    table: 'queue_events',
    key: 'tenant',
    columns: [
      col('tenant', 'text', (_e, d) => String(d.tenant), { key: 'tenant' }),
      col('id', 'uuid', (e) => e.id),
      col('session_id', 'text', (e) => e.sessionId),
      col('seq', 'bigint', (e) => e.seq),
      col('type', 'text', (e) => e.type),
      col('at', 'timestamptz', (e) => e.at),
      col('player_id', 'text', (e) => e.player),
      dataField('expires_at', 'timestamptz', 'expiresAt'),
      dataField('reason', 'text', 'reason'),
      meta,
    ],
  },
};

function insertSql(t: FamilyTable): string {
  const names = t.columns.map((c) => c.name).join(', ');
  const defs = t.columns.map((c) => `${c.name} ${c.type}`).join(', ');
  return `INSERT INTO ${t.table} (${names}) SELECT ${names} FROM json_to_recordset($1::json) AS x(${defs}) ON CONFLICT (${t.key}, id) DO NOTHING RETURNING id`;
}

export const INSERT_SQL: Record<Family, string> = Object.fromEntries(
  Object.entries(FAMILY_TABLES).map(([f, t]) => [f, insertSql(t)]),
) as Record<Family, string>;

/**
 * One row builder per family, compiled once from its column list into a single object literal: every
 * row then has the same hidden class, which V8 builds and JSON.stringify-s on its fast path (about
 * twice as fast as assigning the columns one by one).
 */
const ROW_BUILDERS = Object.fromEntries(
  Object.entries(FAMILY_TABLES).map(([f, t]) => {
    const body = t.columns.map((c, i) => `${JSON.stringify(c.name)}: g[${i}](e, e.data)`).join(', ');
    const make = new Function('g', `return (e) => ({ ${body} });`) as (g: Getter[]) => (e: ValidEvent) => Record<string, unknown>;
    return [f, make(t.columns.map((c) => c.get))];
  }),
) as Record<Family, (e: ValidEvent) => Record<string, unknown>>;

/** The JSON parameter for one family's events. */
export function familyRowsJson(family: Family, events: ValidEvent[]): string {
  const build = ROW_BUILDERS[family];
  const rows = new Array(events.length);
  for (let i = 0; i < events.length; i++) rows[i] = build(events[i]);
  return JSON.stringify(rows);
}
