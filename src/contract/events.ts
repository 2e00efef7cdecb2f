/**
 * The v1 event types. Each entry names the family (the table its rows land in), the shape of its
 * `data`, and any rule that spans fields. Everything else (validation, JSON Schema, SDK helper types,
 * worker routing) is derived from this table.
 */
import { f, type Infer, type Shape } from './fields.ts';
import { DEFAULT_LIMITS } from './limits.ts';

const SHORT = 64;
/** What prompt, response and thinking share (their limit is configurable: GP_MAX_AGENT_TEXT_BYTES). */
const AGENT_TEXT = 'At most GP_MAX_AGENT_TEXT_BYTES bytes of UTF-8, not counted in the event size.';
const meta = f.object({ optional: true, description: 'Free-form game-specific JSON, stored as jsonb.' });
/** Stored as PostgreSQL int4. */
const INT4 = 2_147_483_647;
const XP = { min: -1_000_000_000, max: 1_000_000_000 };
const round = f.int({ optional: true, min: 0, max: INT4 });
const turn = f.int({ optional: true, min: 0, max: INT4 });
const count = f.int({ optional: true, min: 0, max: INT4 });

export const FAMILIES = ['session', 'participant', 'move', 'vote', 'chat', 'task', 'turn', 'agent', 'queue', 'doc', 'custom'] as const;
export type Family = (typeof FAMILIES)[number];

export const OUTCOMES = ['win', 'loss', 'draw'] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** Other words for an outcome that games use (seed 000 says `lose`); stored as the outcome they name. */
const OUTCOME_ALIASES = { lose: 'loss' } as const;
/** A team: a string or an integer (Hokm numbers its teams 1 and 2), stored as text. */
const team = f.id({ optional: true, asText: true, description: 'Team name or number (stored as text: 1 and "1" are one team).' });

/** Documents (doc.put, doc.delete): a collection name, a key inside it, its owner and a conditional version. */
const docName = f.str({ min: 1, max: SHORT, description: 'Collection, e.g. chunks, characters, inventories.' });
const docKey = f.str({ min: 1, max: 256, description: 'Key inside the collection; listing orders and ranges by it (byte order).' });
const docOwner = f.oneOf(['session', 'player'] as const, {
  optional: true,
  description: 'Whose document: the session (default) or the envelope `player`, in this session.',
});
const docVersion = f.int({
  optional: true,
  min: 0,
  max: INT4,
  description: 'Apply only if the document is at this version (0: only if it does not exist); otherwise recorded as a conflict.',
});

interface TypeDef<S extends Shape> {
  family: Family;
  description: string;
  data: S;
  /** Cross-field rule: returns [field, reason] when broken. */
  rule?: (data: Record<string, unknown>) => [string, string] | null;
  /** The rule in words, for docs/contract.md. */
  ruleText?: string;
  /** Whether the envelope needs a sessionId (all but join-queue events). */
  needsSession?: boolean;
}

function def<const S extends Shape>(d: TypeDef<S>): TypeDef<S> {
  return d;
}

export const EVENT_TYPES = {
  'session.created': def({
    family: 'session',
    description: 'A game session (room, match, world) was created.',
    data: {
      gameType: f.str({ max: SHORT, min: 1, description: 'e.g. impostor, hokm, liap-tui' }),
      tenant: f.id({ optional: true, description: 'Owning chat, guild or server.' }),
      confined: f.bool({
        optional: true,
        description:
          "The session counts only in its tenant's statistics, boards and ratings, never in the global ones, and does not name global players (requires `tenant`). The HTTP API sets it on every session a tenant-restricted key creates.",
      }),
      name: f.str({ max: 256, optional: true }),
      createdBy: f.id({ optional: true }),
      settings: f.object({ optional: true }),
      meta,
    },
    rule: (d) => (d.confined === true && d.tenant === undefined ? ['data.confined', 'needs data.tenant: a confined session counts in its tenant only'] : null),
    ruleText: '`data.confined: true` needs `data.tenant`.',
  }),
  'session.started': def({
    family: 'session',
    description: 'Play began.',
    data: { settings: f.object({ optional: true }), meta },
  }),
  'session.finished': def({
    family: 'session',
    description: 'The session ended normally.',
    data: {
      winners: f.ids({ max: 256, optional: true, description: 'Winning players (or teams).' }),
      scores: f.scores({ max: 256, optional: true, description: 'Final score per player or team.' }),
      result: f.str({ max: 256, optional: true }),
      meta,
    },
  }),
  'session.abandoned': def({
    family: 'session',
    description: 'The session ended without a result.',
    data: { reason: f.str({ max: 256, optional: true }), meta },
  }),
  'player.joined': def({
    family: 'participant',
    description: 'A player joined the session (the envelope `player`).',
    data: {
      role: f.str({ max: SHORT, optional: true }),
      team,
      position: f.int({ optional: true, min: 0, max: 10_000 }),
      name: f.str({ max: 128, optional: true }),
      meta,
    },
  }),
  'player.left': def({
    family: 'participant',
    description: 'A player left the session.',
    data: { reason: f.str({ max: 256, optional: true }), meta },
  }),
  'player.outcome': def({
    family: 'participant',
    description: "A player's result in the session.",
    data: {
      outcome: f.oneOf(OUTCOMES, { aliases: OUTCOME_ALIASES, description: '`lose` is accepted and stored as `loss`.' }),
      xp: f.int({ optional: true, ...XP }),
      score: f.num({ optional: true }),
      role: f.str({ max: SHORT, optional: true }),
      team,
      meta,
    },
  }),
  move: def({
    family: 'move',
    description: 'A player action (card played, piece moved, spell cast).',
    data: {
      action: f.str({ max: SHORT, min: 1 }),
      round,
      turn,
      data: f.json({ optional: true, description: 'The move itself, stored as jsonb.' }),
    },
  }),
  vote: def({
    family: 'vote',
    description: 'The envelope `player` voted for `target`; a null target is a skip.',
    data: {
      target: f.id({ nullable: true, description: 'Voted-for player, or null to skip.' }),
      round,
      kind: f.str({ max: SHORT, optional: true, description: 'e.g. eject, kick, map' }),
      meta,
    },
  }),
  'chat.message': def({
    family: 'chat',
    description: 'A chat or discussion message.',
    data: {
      text: f.str({ max: 4096 }),
      channel: f.str({ max: SHORT, optional: true, description: 'Phase or channel, e.g. discussion, lobby.' }),
      round,
      meta,
    },
  }),
  'task.completed': def({
    family: 'task',
    description: 'A player completed a task.',
    data: {
      taskType: f.str({ max: SHORT, min: 1 }),
      xp: f.int({ optional: true, ...XP }),
      fake: f.bool({ optional: true, description: 'A faked task (impostors); default false.' }),
      description: f.str({ max: 512, optional: true }),
      meta,
    },
  }),
  'turn.result': def({
    family: 'turn',
    description: 'A processed turn: results and either the full state or an RFC 7396 merge patch of it.',
    data: {
      turn: f.int({ min: 0, max: INT4 }),
      round,
      results: f.json({ optional: true }),
      state: f.object({ optional: true, description: 'Full game state after the turn.' }),
      patch: f.object({ optional: true, description: 'RFC 7396 merge patch to the previous state.' }),
      stateHash: f.str({ max: 128, optional: true, description: "The game server's own hash of the state." }),
    },
    rule: (d) =>
      (d.state === undefined) === (d.patch === undefined) ? ['data.state', 'or data.patch: exactly one is required'] : null,
    ruleText: 'exactly one of `data.state` and `data.patch` must be present.',
  }),
  'agent.log': def({
    family: 'agent',
    description: 'One LLM or agent call.',
    data: {
      model: f.str({ max: 128, min: 1 }),
      provider: f.str({ max: SHORT, optional: true }),
      agent: f.str({ max: 128, optional: true }),
      turn,
      prompt: f.text({ maxBytes: DEFAULT_LIMITS.maxAgentTextBytes, optional: true, description: AGENT_TEXT }),
      response: f.text({ maxBytes: DEFAULT_LIMITS.maxAgentTextBytes, optional: true, description: AGENT_TEXT }),
      thinking: f.text({ maxBytes: DEFAULT_LIMITS.maxAgentTextBytes, optional: true, description: `A thinking model's reasoning text. ${AGENT_TEXT}` }),
      promptChars: count,
      responseChars: count,
      promptTokens: count,
      completionTokens: count,
      thinkingTokens: count,
      latencyMs: f.num({ optional: true, min: 0 }),
      meta,
    },
  }),
  'queue.entered': def({
    family: 'queue',
    description: 'A player entered the join queue of a tenant (sessionId optional: the room waited for).',
    needsSession: false,
    data: { tenant: f.id(), expiresAt: f.time({ optional: true }), meta },
  }),
  'queue.left': def({
    family: 'queue',
    description: 'A player left the join queue (joined a game, gave up, expired).',
    needsSession: false,
    data: { tenant: f.id(), reason: f.str({ max: SHORT, optional: true }) },
  }),
  'doc.put': def({
    family: 'doc',
    description:
      "Writes a document (a world chunk, a character, an inventory): the session's, or with `owner: \"player\"` the envelope player's in this session. Applied in seq order; a mismatched `expectedVersion` is recorded as a conflict and not applied.",
    data: {
      collection: docName,
      key: docKey,
      value: f.json({ description: 'The document: any JSON value but null, at most GP_MAX_DOCUMENT_BYTES.' }),
      owner: docOwner,
      expectedVersion: docVersion,
    },
  }),
  'doc.delete': def({
    family: 'doc',
    description: 'Deletes a document (see doc.put). Deleting a missing document without expectedVersion is a no-op.',
    data: { collection: docName, key: docKey, owner: docOwner, expectedVersion: docVersion },
  }),
} as const;

export type EventType = keyof typeof EVENT_TYPES;
export const EVENT_TYPE_NAMES = Object.keys(EVENT_TYPES) as EventType[];

/**
 * A game-defined event type, `x.<game>.<name>` (e.g. `x.adventure.story_choice`): stored in the `custom`
 * family's table with free-form `data`, checked against the JSON Schema the game registered for it, if any.
 */
export type CustomType = `x.${string}.${string}`;
/** Lower-case letters, digits, `_` and `-`; the name may have further dot-separated parts. */
export const CUSTOM_TYPE_PATTERN = /^x\.[a-z0-9][a-z0-9_-]{0,31}\.[a-z0-9][a-z0-9_-]{0,47}(\.[a-z0-9][a-z0-9_-]{0,47}){0,3}$/;
export const isCustomType = (t: unknown): t is CustomType => typeof t === 'string' && t.length <= 128 && CUSTOM_TYPE_PATTERN.test(t);
/** Every event type: one of the contract's, or a game's own. */
export type AnyEventType = EventType | CustomType;

/** The `data` object of each event type. */
export type EventData<T extends EventType> = Infer<(typeof EVENT_TYPES)[T]['data']>;

/** A v1 event as it travels in a job and is stored. */
export interface EventEnvelope<T extends EventType = EventType> {
  /** Contract version; optional on input, always 1 in v1. */
  v?: 1;
  /** UUID (v7 recommended, for index locality), made by the producer; the deduplication key. */
  id: string;
  type: T;
  /** Session id; optional only for queue.* events. Integers are accepted and stored as text. */
  sessionId?: string | number;
  /** Per-session sequence number, starting at 1, across all event types of the session. */
  seq?: number;
  /** When it happened, RFC 3339. */
  at: string;
  /** Acting player, if any. */
  player?: string | number;
  data: EventData<T>;
}

/** An envelope after validation: ids are strings and `seq` is present when `sessionId` is. */
export interface ValidEvent {
  id: string;
  type: AnyEventType;
  family: Family;
  sessionId: string | null;
  seq: number | null;
  at: string;
  player: string | null;
  data: Record<string, unknown>;
}
