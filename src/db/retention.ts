/**
 * Retention's data classes, declared once: which rows each class holds, and the environment variable of
 * its days (src/config.ts reads them; docs and the metric's label use the class names). The event
 * classes are event families (src/db/families.ts); `events` is every family no other class names and
 * nothing is recomputed from, so a new family lands in it unless it is an aggregates' source. `idle` is
 * not a family but a kind of session: one that is not final and has had nothing written for its days
 * loses the rows every event class deletes (IDLE_TABLES), as a finished session does, and stays
 * unfinished: no end is invented for it (derived facts follow the session's own events, docs/contract.md
 * "The ordering rule"), so its next event brings it back.
 *
 * Never a class: the families `verify` and `rebuild` recompute sessions, participants and statistics
 * from (session lifecycle and participant events: src/db/sql/recompute.ts; tasks and votes: the player
 * statistics' families), so retention never makes the aggregates drift nor loses what `rebuild` needs;
 * join-queue events (keyed by tenant, not by a session). Personal text in the kept families (names,
 * task descriptions) is what `erase-player` removes.
 */
import { FAMILIES, type Family } from '../contract/events.ts';
import { FAMILY_TABLES, PLAYER_STAT_FAMILIES } from './families.ts';
import { DERIVED_FROM } from './sql/recompute.ts';

export const RETENTION_CLASSES = ['chat', 'moves', 'agent_logs', 'events', 'idle', 'dead_letters'] as const;
export type RetentionClass = (typeof RETENTION_CLASSES)[number];
/** The classes made of a finished session's events, by family (dead letters are not a session's; idle is sessions). */
export type EventRetentionClass = Exclude<RetentionClass, 'dead_letters' | 'idle'>;

/** The variable holding each class's days (0 or unset: kept forever). */
export const RETENTION_ENV: Readonly<Record<RetentionClass, string>> = Object.freeze({
  chat: 'GP_RETAIN_CHAT_DAYS',
  moves: 'GP_RETAIN_MOVES_DAYS',
  agent_logs: 'GP_RETAIN_AGENT_LOGS_DAYS',
  events: 'GP_RETAIN_EVENTS_DAYS',
  idle: 'GP_RETAIN_IDLE_DAYS',
  dead_letters: 'GP_RETAIN_DEAD_LETTERS_DAYS',
});

/** Families retention never deletes: what sessions, participants and statistics are recomputed from, and the join queue's. */
export const KEPT_FAMILIES: ReadonlySet<Family> = new Set<Family>([...DERIVED_FROM, ...PLAYER_STAT_FAMILIES, 'queue']);

const NAMED: Readonly<Record<Exclude<EventRetentionClass, 'events'>, readonly Family[]>> = { chat: ['chat'], moves: ['move'], agent_logs: ['agent'] };

/** The families of each event class. */
export const RETENTION_FAMILIES: Readonly<Record<EventRetentionClass, readonly Family[]>> = Object.freeze({
  ...NAMED,
  events: FAMILIES.filter((f) => !KEPT_FAMILIES.has(f) && !Object.values(NAMED).some((l) => l.includes(f))),
});

/** The tables of each event class. */
export const RETENTION_TABLES: Readonly<Record<EventRetentionClass, readonly string[]>> = Object.freeze(
  Object.fromEntries(Object.entries(RETENTION_FAMILIES).map(([c, fs]) => [c, fs.map((f) => FAMILY_TABLES[f].table)])) as Record<EventRetentionClass, string[]>,
);

/** What the idle class deletes in an idle session: every event class's tables. */
export const IDLE_TABLES: readonly string[] = Object.freeze(Object.values(RETENTION_TABLES).flat());
