/**
 * What each event family stores, declared once: its table, key, and every column (SQL type,
 * nullability, default), how the column is filled from a validated event, and where it goes back in the
 * event's wire-form `data` when a history is read. Everything else that names an event table or its
 * columns derives from this table: the INSERTs (sql/insert-events.ts), the history and recovery reads
 * (sql/history.ts), the sequence reads (sql/sequence.ts), the derivation reads of verify and rebuild
 * (sql/recompute.ts), which families count for players (workers/derived-rows.ts, rebuild's player list
 * in sql/aggregates.ts), the MikroORM entities (entities/events.ts, hence the migrations), the demo's
 * table counts and the contract page (scripts/contract-doc.ts).
 *
 * test/integration/storage/families.test.ts fails when the migrated database, the entity metadata or a
 * round trip through the INSERT and the history reads disagree with it. A new family is its name in
 * FAMILIES and its event types (contract/events.ts: the compiler then asks for its entry here), this
 * entry, and a migration generated from the entity it yields.
 */
import { FAMILIES, type Family, type ValidEvent } from '../contract/events.ts';

/** The PostgreSQL types event columns use, spelled as in the INSERT's `json_to_recordset` column list. */
export type SqlType = 'text' | 'uuid' | 'bigint' | 'int' | 'float8' | 'boolean' | 'timestamptz' | 'jsonb';

/** Fills a column from a validated event and its `data`. */
export type Getter = (e: ValidEvent, d: Record<string, any>) => unknown;

/**
 * Where a column goes back in the event's wire-form `data` when a history is read: under `key` (absent
 * when the column is NULL, unless `keepNull`), spread into `data` (a jsonb holding the listed fields),
 * or as the whole `data`. Envelope columns (and `recorded_at`) have none.
 */
export type Wire = { key: string; keepNull?: boolean } | { spread: readonly string[] } | { whole: true };

export interface Column {
  name: string;
  type: SqlType;
  nullable: boolean;
  /**
   * The column's SQL default: a value, or SQL text (`{ sql: 'now()' }`). A data column's value default
   * also fills an absent field in the INSERT, since `json_to_recordset` yields NULL, not DEFAULT.
   */
  default?: number | boolean | { sql: string };
  /** How the INSERT fills it; absent: the INSERT leaves it out and the database default fills it. */
  get?: Getter;
  wire?: Wire;
}

export interface FamilyTable {
  family: Family;
  table: string;
  /** The MikroORM entity's name (its class name in migrations and metadata). */
  entity: string;
  /** Leading key column: session_id, or tenant for join-queue events. The primary key is (key, id). */
  key: 'session_id' | 'tenant';
  columns: readonly Column[];
  /**
   * Its events add to a player's share of a session and to the aggregates: derived rows follow them,
   * rebuild reads every player in them, and the table has an index on player_id for those reads.
   */
  playerStats: boolean;
  /** The table has an index on player_id: for the aggregates' reads (playerStats), or a per-player read route. */
  playerIndex: boolean;
}

/** The SQL text of a column default, as PostgreSQL reports it (information_schema.columns.column_default). */
export function defaultSql(c: Column): string | null {
  if (c.default === undefined) return null;
  return typeof c.default === 'object' ? c.default.sql : String(c.default);
}

// --- Column builders -------------------------------------------------------------------------------

const envelope = (name: string, type: SqlType, nullable: boolean, get: Getter): Column => ({ name, type, nullable, get });

/** When the worker's transaction wrote the row: `recorded_at - at` is the ingest lag. Not inserted. */
const recordedAt: Column = { name: 'recorded_at', type: 'timestamptz', nullable: false, default: { sql: 'now()' } };

/**
 * A column holding one data field, under the same key in the wire form. NULL when the field is absent,
 * or the value default of a NOT NULL column.
 */
function field(name: string, type: SqlType, key: string, opts: { nullable?: boolean; default?: number | boolean; keepNull?: boolean; get?: Getter } = {}): Column {
  const dflt = opts.default;
  return {
    name,
    type,
    nullable: opts.nullable ?? true,
    ...(dflt !== undefined ? { default: dflt } : {}),
    get: opts.get ?? (dflt !== undefined ? (_e, d) => d[key] ?? dflt : (_e, d) => d[key] ?? null),
    wire: opts.keepNull ? { key, keepNull: true } : { key },
  };
}
const required = (name: string, type: SqlType, key: string) => field(name, type, key, { nullable: false });

/** The free-form `meta` field, stored in the `data` jsonb column. */
const meta = field('data', 'jsonb', 'meta');

/** The listed data fields that are present, as one object (or null when none is). */
function pick(d: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> | null {
  let out: Record<string, unknown> | null = null;
  for (const k of keys) if (d[k] !== undefined) (out ??= {})[k] = d[k];
  return out;
}

/** A jsonb column holding several data fields, spread back into `data` on read. */
function spread(name: string, keys: readonly string[]): Column {
  return { name, type: 'jsonb', nullable: true, get: (_e, d) => pick(d, keys), wire: { spread: keys } };
}

/** The envelope of a session's event, which leads every session-keyed table. */
const sessionEnvelope: readonly Column[] = [
  envelope('session_id', 'text', false, (e) => e.sessionId),
  envelope('id', 'uuid', false, (e) => e.id),
  envelope('seq', 'bigint', false, (e) => e.seq),
  envelope('type', 'text', false, (e) => e.type),
  envelope('at', 'timestamptz', false, (e) => e.at),
  envelope('player_id', 'text', true, (e) => e.player),
  recordedAt,
];

type Entry = Omit<FamilyTable, 'family' | 'key' | 'playerStats' | 'playerIndex'> & Partial<Pick<FamilyTable, 'key' | 'playerStats' | 'playerIndex'>>;

const DECLARED: Record<Family, Entry> = {
  session: {
    table: 'session_events',
    entity: 'SessionEvent',
    columns: [...sessionEnvelope, { name: 'data', type: 'jsonb', nullable: false, get: (_e, d) => d, wire: { whole: true } }],
  },
  participant: {
    table: 'participant_events',
    entity: 'ParticipantEvent',
    playerStats: true,
    columns: [
      ...sessionEnvelope,
      field('role', 'text', 'role'),
      field('team', 'text', 'team'),
      field('position', 'int', 'position'),
      field('outcome', 'text', 'outcome'),
      field('xp', 'int', 'xp'),
      field('score', 'float8', 'score'),
      spread('data', ['name', 'reason', 'meta']),
    ],
  },
  move: {
    table: 'moves',
    entity: 'Move',
    columns: [...sessionEnvelope, required('action', 'text', 'action'), field('round', 'int', 'round'), field('turn', 'int', 'turn'), field('data', 'jsonb', 'data')],
  },
  vote: {
    table: 'votes',
    entity: 'Vote',
    playerStats: true,
    columns: [
      ...sessionEnvelope,
      // NULL means the voter (`player_id`) skipped: kept in the history, unlike absent optional fields.
      field('target_id', 'text', 'target', { keepNull: true }),
      field('round', 'int', 'round'),
      field('kind', 'text', 'kind'),
      meta,
    ],
  },
  chat: {
    table: 'chat_messages',
    entity: 'ChatMessage',
    columns: [...sessionEnvelope, field('channel', 'text', 'channel'), field('round', 'int', 'round'), required('text', 'text', 'text'), meta],
  },
  task: {
    table: 'task_logs',
    entity: 'TaskLog',
    playerStats: true,
    columns: [
      ...sessionEnvelope,
      required('task_type', 'text', 'taskType'),
      field('xp', 'int', 'xp', { nullable: false, default: 0 }),
      field('fake', 'boolean', 'fake', { nullable: false, default: false }),
      field('description', 'text', 'description'),
      meta,
    ],
  },
  turn: {
    table: 'turn_results',
    entity: 'TurnResult',
    columns: [
      ...sessionEnvelope,
      required('turn', 'int', 'turn'),
      field('round', 'int', 'round'),
      field('results', 'jsonb', 'results'),
      field('state', 'jsonb', 'state'),
      field('patch', 'jsonb', 'patch'),
      field('state_hash', 'text', 'stateHash'),
    ],
  },
  agent: {
    table: 'agent_logs',
    entity: 'AgentLog',
    // A player's LLM usage (GET /v1/players/{id}/agents) is read by player across sessions.
    playerIndex: true,
    columns: [
      ...sessionEnvelope,
      required('model', 'text', 'model'),
      field('provider', 'text', 'provider'),
      field('agent', 'text', 'agent'),
      field('turn', 'int', 'turn'),
      field('prompt', 'text', 'prompt'),
      field('response', 'text', 'response'),
      // The three texts may be megabytes (GP_MAX_AGENT_TEXT_BYTES each); TOAST stores them compressed
      // (pglz, PostgreSQL's default: 7x on a 4X game's prompts, lz4 5x; bench/agent-text.ts).
      field('thinking', 'text', 'thinking'),
      // Sizes are kept even when the texts are not sent; when they are, their length is the default.
      field('prompt_chars', 'int', 'promptChars', { get: (_e, d) => d.promptChars ?? (typeof d.prompt === 'string' ? d.prompt.length : null) }),
      field('response_chars', 'int', 'responseChars', { get: (_e, d) => d.responseChars ?? (typeof d.response === 'string' ? d.response.length : null) }),
      field('prompt_tokens', 'int', 'promptTokens'),
      field('completion_tokens', 'int', 'completionTokens'),
      field('thinking_tokens', 'int', 'thinkingTokens'),
      field('latency_ms', 'float8', 'latencyMs'),
      meta,
    ],
  },
  queue: {
    table: 'queue_events',
    entity: 'QueueEvent',
    // A join queue belongs to a chat or guild, not to a session; a queue event that names a session
    // still takes a place in that session's sequence (session_id and seq are then set).
    key: 'tenant',
    columns: [
      field('tenant', 'text', 'tenant', { nullable: false, get: (_e, d) => String(d.tenant) }),
      envelope('id', 'uuid', false, (e) => e.id),
      envelope('session_id', 'text', true, (e) => e.sessionId),
      envelope('seq', 'bigint', true, (e) => e.seq),
      envelope('type', 'text', false, (e) => e.type),
      envelope('at', 'timestamptz', false, (e) => e.at),
      envelope('player_id', 'text', true, (e) => e.player),
      field('expires_at', 'timestamptz', 'expiresAt'),
      field('reason', 'text', 'reason'),
      recordedAt,
      meta,
    ],
  },
  doc: {
    table: 'document_events',
    entity: 'DocumentEvent',
    columns: [
      ...sessionEnvelope,
      required('collection', 'text', 'collection'),
      required('doc_key', 'text', 'key'),
      // As sent ('session', 'player' or absent): the document's owner is derived from it and `player_id`.
      field('owner', 'text', 'owner'),
      field('expected_version', 'int', 'expectedVersion'),
      field('value', 'jsonb', 'value'),
      // Written when the event is applied in seq order (sessions/documents.ts), rewritten if a late event
      // before it makes its document fold again: applied, conflict or over_limit, and the version it
      // made (applied) or found (conflict). NULL while it waits behind a sequence gap.
      { name: 'outcome', type: 'text', nullable: true },
      { name: 'version', type: 'int', nullable: true },
    ],
  },
  custom: {
    table: 'custom_events',
    entity: 'CustomEvent',
    // A game's own types (x.<game>.<name>): the envelope typed, the game's data as sent.
    columns: [...sessionEnvelope, { name: 'data', type: 'jsonb', nullable: false, get: (_e, d) => d, wire: { whole: true } }],
  },
};

export const FAMILY_TABLES: Readonly<Record<Family, Readonly<FamilyTable>>> = Object.freeze(
  Object.fromEntries(
    FAMILIES.map((f) => {
      const d = DECLARED[f];
      return [f, Object.freeze({ family: f, key: 'session_id', playerStats: false, ...d, playerIndex: d.playerIndex ?? d.playerStats ?? false } satisfies FamilyTable)];
    }),
  ) as Record<Family, FamilyTable>,
);

/** Every event table, in family order. */
export const EVENT_TABLES: readonly string[] = FAMILIES.map((f) => FAMILY_TABLES[f].table);

/** The families whose events add to players' statistics (participant events, tasks, votes). */
export const PLAYER_STAT_FAMILIES: ReadonlySet<Family> = new Set(FAMILIES.filter((f) => FAMILY_TABLES[f].playerStats));

/** The columns an INSERT writes, in table order: all but those only the database fills. */
export function insertedColumns(t: FamilyTable): (Column & { get: Getter })[] {
  return t.columns.filter((c): c is Column & { get: Getter } => c.get !== undefined);
}
