/**
 * Generates the event-type reference of docs/contract.md from the contract table (src/contract) and
 * the family registry the worker's INSERTs are built from (src/db/families.ts), so the page cannot drift
 * from what the validator accepts and where rows land.
 *
 *   node scripts/contract-doc.ts            print the generated markdown
 *   node scripts/contract-doc.ts --write    replace the generated section of docs/contract.md
 *   node scripts/contract-doc.ts --check    exit 1 if docs/contract.md is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LIMITS, EVENT_TYPES, EVENT_TYPE_NAMES, type EventType, type ValidEvent } from '../src/contract/index.ts';
import { FAMILY_TABLES, insertedColumns } from '../src/db/families.ts';

export const DOC_PATH = fileURLToPath(new URL('../docs/contract.md', import.meta.url));
const BEGIN = '<!-- BEGIN GENERATED: event types (node scripts/contract-doc.ts --write) -->';
const END = '<!-- END GENERATED: event types -->';

interface FieldSpec {
  optional: boolean;
  nullable: boolean;
  longText?: boolean;
  schema(): Record<string, unknown>;
}
type Schema = Record<string, any>;

/** Current-state rows each type updates (mirrors src/workers/derived-rows.ts and the upserts in src/db/sql/). */
const COUNTERS = '`sessions` counters (`first_event_at`, `last_event_at`, `last_seq`, `event_count`)';
const PLAYERS = '`players` (`name`, `first_seen_at`, `last_seen_at`)';
const DERIVED: Record<EventType, string> = {
  'session.created': '`sessions` (`tenant`, `confined`, `game_type`, `name`, `created_by`, `settings`, `created_at`; `status` starts as `created`) and the ' + COUNTERS,
  'session.started': '`sessions` (`status` = `started` unless ended, `started_at`, `settings`) and the ' + COUNTERS,
  'session.finished': '`sessions` (`status` = `finished`, `ended_at`, `winners`, `final_scores`, `result`; the first end wins) and the ' + COUNTERS,
  'session.abandoned': '`sessions` (`status` = `abandoned`, `ended_at`, `end_reason`; the first end wins) and the ' + COUNTERS,
  'player.joined': '`session_participants` (`joined_at`, `last_joined_at`; `role`, `team`, `position`, `name` when sent), ' + PLAYERS + ' and the ' + COUNTERS,
  'player.left': '`session_participants` (`left_at`), ' + PLAYERS + ' and the ' + COUNTERS,
  'player.outcome': '`session_participants` (`outcome`, `xp`, `score`; `role`, `team` when sent), ' + PLAYERS + ' and the ' + COUNTERS,
  move: 'the ' + COUNTERS,
  vote: 'the ' + COUNTERS,
  'chat.message': 'the ' + COUNTERS,
  'task.completed': 'the ' + COUNTERS,
  'turn.result': 'the ' + COUNTERS,
  'agent.log': 'the ' + COUNTERS,
  'queue.entered': '`join_queue_entries`, one row per (`tenant`, `player_id`): `entered_at`, and from the latest entry `session_id`, `expires_at`, `data` (= `meta`)',
  'queue.left': '`join_queue_entries` (`left_at`); the player is waiting while `entered_at` is later than `left_at`',
  'doc.put': '`documents`, in seq order once no seq before it is missing: the document (`value`, `version` + 1, `bytes`), unless `expectedVersion` differs (the event\'s `outcome` = `conflict`) or the owner\'s documents would pass GP_MAX_OWNER_DOCUMENT_BYTES (`over_limit`); and the ' + COUNTERS,
  'doc.delete': '`documents` (the row removed), in seq order, unless `expectedVersion` differs (`conflict`); and the ' + COUNTERS,
};

const code = (s: string) => `\`${s}\``;

function describeType(s: Schema): { type: string; limits: string } {
  if (s.anyOf && s.anyOf.length === 2 && s.anyOf[1]?.type === 'null') {
    const inner = describeType(s.anyOf[0]);
    return { type: `${inner.type} or null`, limits: inner.limits };
  }
  if (s.anyOf) return { type: 'id (string or integer)', limits: 'string 1–128 chars, or a safe integer (stored as text)' };
  if (s.enum) return { type: 'string', limits: `one of ${s.enum.map((v: string) => code(v)).join(', ')}` };
  switch (s.type) {
    case 'string':
      if (s.format === 'date-time') return { type: 'timestamp', limits: 'RFC 3339 with a time zone' };
      return { type: 'string', limits: s.minLength ? `${s.minLength}–${s.maxLength} chars` : `≤ ${s.maxLength} chars` };
    case 'integer':
      return { type: 'integer', limits: `${fmt(s.minimum)} … ${fmt(s.maximum)}` };
    case 'number':
      return { type: 'number', limits: s.minimum !== undefined ? `finite, ≥ ${s.minimum}` : 'finite' };
    case 'boolean':
      return { type: 'boolean', limits: '' };
    case 'array':
      return { type: 'array of ids', limits: `≤ ${s.maxItems} items; each a string 1–128 chars or an integer` };
    case 'object':
      if (s.additionalProperties?.type === 'number') return { type: 'object of numbers', limits: `≤ ${s.maxProperties} entries, finite values` };
      return { type: 'JSON object', limits: 'free-form' };
    default:
      return { type: 'any JSON', limits: 'free-form' };
  }
}

function fmt(n: number): string {
  return String(n);
}

/**
 * Where each data field is stored: probes the INSERT column getters with a marker value per field.
 * Returns field → "`column` type" (or "`data` jsonb key").
 */
function columnsFor(type: EventType): { byField: Map<string, string>; defaults: string[]; table: string; key: string; envelope: string[] } {
  const def = EVENT_TYPES[type];
  const t = FAMILY_TABLES[def.family];
  const shape = def.data as Record<string, FieldSpec>;
  const mark = (k: string) => `\u0001${k}`;
  const data: Record<string, unknown> = {};
  for (const k of Object.keys(shape)) data[k] = mark(k);
  const ev = { id: 'id', type, family: def.family, sessionId: 's', seq: 1, at: 'at', player: 'p', data } as ValidEvent;
  const byField = new Map<string, string>();
  for (const c of insertedColumns(t)) {
    const v = c.get(ev, data);
    if (v === data) {
      for (const k of Object.keys(shape)) if (!byField.has(k)) byField.set(k, `${code(c.name)} ${c.type} (the whole \`data\` object)`);
      continue;
    }
    for (const k of Object.keys(shape)) {
      if (v === mark(k)) byField.set(k, `${code(c.name)} ${c.type}`);
      else if (v && typeof v === 'object' && (v as Record<string, unknown>)[k] === mark(k)) byField.set(k, `${code(c.name)} ${c.type}, key ${code(k)}`);
    }
  }
  // The key and the columns filled from the envelope rather than from `data`.
  const envelope = insertedColumns(t).filter((c) => c.name === t.key || !c.wire).map((c) => c.name);
  // Columns that get a value when the field is absent.
  const defaults: string[] = [];
  for (const c of insertedColumns(t)) {
    const empty = {};
    const v = c.get({ ...ev, data: empty }, empty);
    if (v !== empty && v !== null && v !== undefined && !envelope.includes(c.name))
      defaults.push(`${code(c.name)} defaults to ${code(JSON.stringify(v))}`);
  }
  if (type === 'agent.log') defaults.push('`prompt_chars` / `response_chars` default to the length of `prompt` / `response` when those are sent');
  return { byField, defaults, table: t.table, key: t.key, envelope };
}

function envelopeRule(type: EventType): { session: string; player: string } {
  const def = EVENT_TYPES[type];
  const needsSession = !('needsSession' in def) || def.needsSession !== false;
  const needsPlayer = def.family === 'participant' || def.family === 'vote' || def.family === 'queue';
  return {
    session: needsSession ? 'required (+ `seq`)' : 'optional (`seq` optional: not part of the session\'s sequence)',
    player: needsPlayer ? 'required' : 'optional',
  };
}

export function generate(): string {
  const out: string[] = [BEGIN, ''];
  out.push('| type | table | `sessionId` | `player` | required `data` fields |');
  out.push('|---|---|---|---|---|');
  for (const type of EVENT_TYPE_NAMES) {
    const def = EVENT_TYPES[type];
    const shape = def.data as Record<string, FieldSpec>;
    const req = Object.entries(shape)
      .filter(([, f]) => !f.optional)
      .map(([k, f]) => code(k) + (f.nullable ? ' (may be null)' : ''));
    if (type === 'turn.result') req.push('exactly one of `state` / `patch`');
    const env = envelopeRule(type);
    out.push(`| [${code(type)}](#${anchor(type)}) | ${code(FAMILY_TABLES[def.family].table)} | ${env.session} | ${env.player} | ${req.join(', ') || '—'} |`);
  }
  out.push('');
  for (const type of EVENT_TYPE_NAMES) {
    const def = EVENT_TYPES[type];
    const shape = def.data as Record<string, FieldSpec>;
    const { byField, defaults, table, key, envelope } = columnsFor(type);
    const env = envelopeRule(type);
    out.push(`### ${code(type)}`, '');
    out.push(def.description, '');
    out.push(`- Envelope: \`sessionId\` ${env.session}; \`player\` ${env.player}.`);
    out.push(`- Lands in \`${table}\`, one row per event, primary key \`(${key}, id)\`; envelope columns ${envelope.map(code).join(', ')}.`);
    out.push(`- Also updates ${DERIVED[type]}.`);
    if ('ruleText' in def && def.ruleText) out.push(`- Rule: ${def.ruleText}`);
    if (defaults.length) out.push(`- Defaults: ${defaults.join('; ')}.`);
    out.push('');
    out.push('| field | type | required | limits | stored in |', '|---|---|---|---|---|');
    for (const [k, f] of Object.entries(shape)) {
      const s = f.schema() as Schema;
      // A long text's limit is in bytes (configurable), which its schema's maxLength only bounds.
      const { type: ty, limits } = f.longText ? { type: 'string', limits: `≤ ${DEFAULT_LIMITS.maxAgentTextBytes} bytes (1 MiB) by default` } : describeType(s);
      const desc = (s.description as string | undefined) ?? (s.anyOf?.[0]?.description as string | undefined);
      const req = f.optional ? 'no' : f.nullable ? 'yes (null allowed)' : 'yes';
      out.push(`| ${code(k)} | ${ty} | ${req} | ${[limits, desc].filter(Boolean).join('. ')} | ${byField.get(k) ?? '—'} |`);
    }
    out.push('');
  }
  out.push(END);
  return out.join('\n');
}

/** GitHub's heading anchor for "### `type`". */
function anchor(type: string): string {
  return type.toLowerCase().replace(/[^a-z0-9 -]/g, '');
}

function replaceSection(doc: string, section: string): string {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${DOC_PATH} has no generated section (${BEGIN} … ${END})`);
  return doc.slice(0, a) + section + doc.slice(b + END.length);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const section = generate();
  const mode = process.argv[2];
  if (mode === '--write' || mode === '--check') {
    const doc = readFileSync(DOC_PATH, 'utf8');
    const next = replaceSection(doc, section);
    if (mode === '--check') {
      if (next !== doc) {
        console.error(`${DOC_PATH} is out of date: run node scripts/contract-doc.ts --write`);
        process.exit(1);
      }
      console.log(`${DOC_PATH} is up to date`);
    } else {
      writeFileSync(DOC_PATH, next);
      console.log(`wrote ${DOC_PATH}`);
    }
  } else console.log(section);
}
