/**
 * One session as a game server plays it, drawn as a list of drafts in the producer's order (seqs,
 * times and ids are added by arbitraries.ts): creation (sometimes late, missing or doubled with another
 * game type, tenant or confinement: a confined session counts in its tenant's scopes only), start, joins, a body of moves, turn results, votes, tasks, chat, agent calls, leaves and
 * re-joins, outcomes (with corrections, before and after the end), documents written and deleted (some
 * with an expected version), the game's own event types, an end of some kind (or none), events after the
 * end, and now and then an extra event reusing a seq.
 */
import type { Player } from './arbitraries.ts';
import { type Draw, jsonObject, jsonPatch, jsonValue, meta } from './content.ts';
import { type JsonObject, sha256Canon } from './json.ts';

const GAME_TYPES = ['hokm', 'impostor', 'liap-tui', '4x', 'échecs 🏰'];
const ROLES = ['crewmate', 'impostor', 'seeker', 'rôle 🎭', 'hakem'];
const TEAMS = { letters: ['A', 'B'], colors: ['red', 'blue', 'green'], numeric: ['1', '2'], odd: ['Ω team', 'a.b'] } as const;
const ACTIONS = ['play_card', 'move', 'cast 🔮', 'pass'];
const TASKS = ['wires', 'swipe card', 'ai_riddle', 'fuel'];
/** Few keys, so writes to one document pile up (and conditional versions meet real ones). */
const DOC_KEYS = ['a', 'b', '0:1', 'ключ 🗝'];
const GAME_TYPES_OWN = ['x.prop.story_choice', 'x.prop.world-log'];

interface Slot {
  player: Player;
  team?: string;
  role?: string;
  joined: boolean;
  present: boolean;
  outcomes: number;
}

export interface Draft {
  type: string;
  player: Player | null;
  data: JsonObject;
  note?: string;
  /** Contract-breaking data sent once besides, under the same id and seq. */
  refused?: JsonObject;
  /** Reuses the seq of this draft (a sequence conflict). */
  conflictOf?: Draft;
}

/** Drops undefined members (the contract wants optional fields left out, not null). */
function data(o: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v as JsonObject[string];
  return out;
}

class SessionDraft {
  readonly drafts: Draft[] = [];
  readonly slots: Slot[];
  readonly teams: readonly string[];
  turn = 0;
  stateKeys: string[] = [];
  ended = false;
  /** The session's "true" result, which most outcomes and the end follow. */
  winningTeam: string | null = null;
  winner: Player | null = null;
  draw: boolean;

  readonly d: Draw;
  readonly pool: Player[];

  constructor(d: Draw, pool: Player[]) {
    this.d = d;
    this.pool = pool;
    const n = d.weighted([[1, 1], [2, 6], [3, 4], [4, 5], [5, 2], [6, 2]] as const);
    const picked = new Set<number>();
    while (picked.size < Math.min(n, pool.length)) picked.add(d.int(0, pool.length - 1));
    const mode = d.weighted([['none', 3], ['letters', 3], ['colors', 1], ['numeric', 2], ['odd', 1], ['partial', 1]] as const);
    this.teams = mode === 'none' ? [] : TEAMS[mode === 'partial' ? 'letters' : mode];
    this.slots = [...picked].map((j, i) => ({
      player: pool[j]!,
      team: this.teams.length && !(mode === 'partial' && d.chance(0.4)) ? this.teams[i % this.teams.length] : undefined,
      role: d.chance(0.6) ? d.pick(ROLES) : undefined,
      joined: false,
      present: false,
      outcomes: 0,
    }));
    this.draw = d.chance(0.1);
    if (this.teams.length) this.winningTeam = d.pick(this.teams);
    else this.winner = d.pick(this.slots).player;
  }

  add(type: string, player: Player | null, body: JsonObject, note?: string): Draft {
    const draft: Draft = { type, player, data: body, note: note ?? (this.ended ? 'after-end' : undefined) };
    this.drafts.push(draft);
    return draft;
  }

  createdData(gameType: string): JsonObject {
    const d = this.d;
    const tenant = d.chance(0.7) ? d.pick<string | number>(['chat-1', 'guild-✨', 67890, 'a/b%2F']) : undefined;
    return data({
      gameType,
      tenant,
      // A confined session (a tenant key's) counts in its tenant's scopes only; now and then said false outright.
      confined: tenant !== undefined && d.chance(0.35) ? true : d.chance(0.05) ? false : undefined,
      name: d.chance(0.5) ? d.pick(['Game Room #1', 'ночная игра', '']) : undefined,
      createdBy: d.chance(0.4) ? d.pick(this.slots).player.wire : undefined,
      settings: d.chance(0.5) ? jsonObject(d, 1) : undefined,
      meta: meta(d, 0.15),
    });
  }

  started(): void {
    const d = this.d;
    this.add('session.started', null, data({ settings: d.chance(0.3) ? jsonObject(d, 1) : undefined, meta: meta(d, 0.1) }));
  }

  join(s: Slot, rejoin = false): void {
    const d = this.d;
    if (rejoin && this.teams.length && d.chance(0.2)) s.team = d.pick(this.teams);
    const body = data({
      role: s.role !== undefined && d.chance(0.7) ? s.role : undefined,
      team: s.team !== undefined && d.chance(0.85) ? this.teamWire(s.team) : undefined,
      position: d.chance(0.6) ? d.int(0, 10) : undefined,
      name: d.chance(0.5) ? d.pick([`Name ${s.player.text} ✨`, `${s.player.text} the Bold`, `Ник ${s.player.text}`]) : undefined,
      meta: meta(d, 0.15),
    });
    const draft = this.add('player.joined', s.player, body);
    if (d.chance(0.04)) draft.refused = { ...body, position: -1 };
    s.joined = true;
    s.present = true;
  }

  left(s: Slot): void {
    this.add('player.left', s.player, data({ reason: this.d.chance(0.5) ? 'game over' : undefined, meta: meta(this.d, 0.1) }));
    s.present = false;
  }

  /** Numbered teams go out as integers half the time (stored as text: 1 and "1" are one team). */
  teamWire(t: string): string | number {
    return /^\d+$/.test(t) && this.d.chance(0.5) ? Number(t) : t;
  }

  trueOutcome(s: Slot): 'win' | 'loss' | 'draw' {
    if (this.draw) return 'draw';
    if (this.winningTeam !== null && s.team !== undefined) return s.team === this.winningTeam ? 'win' : 'loss';
    return s.player === this.winner ? 'win' : 'loss';
  }

  outcome(s: Slot, correction = false): void {
    const d = this.d;
    const outcome = correction || d.chance(0.1) ? d.pick(['win', 'loss', 'draw'] as const) : this.trueOutcome(s);
    const body = data({
      // `lose` is accepted and stored as `loss`.
      outcome: outcome === 'loss' && d.chance(0.3) ? 'lose' : outcome,
      xp: d.chance(0.7) ? d.weighted([[d.int(0, 200), 90], [d.int(-50, -1), 5], [1_000_000, 5]] as const) : undefined,
      score: d.chance(0.5) ? d.pick([0, 1.5, 7, -3, 120]) : undefined,
      role: d.chance(0.2) ? d.pick(ROLES) : undefined,
      team: d.chance(0.15) && this.teams.length ? this.teamWire(d.pick(this.teams)) : undefined,
      meta: meta(d, 0.1),
    });
    if (body.team !== undefined) s.team = String(body.team);
    const draft = this.add('player.outcome', s.player, body, correction ? `correction${this.ended ? ' after-end' : ''}` : undefined);
    if (d.chance(0.05)) draft.refused = { ...body, outcome: 'victory' };
    s.outcomes++;
  }

  turnResult(): void {
    const d = this.d;
    const full = this.turn === 0 ? d.chance(0.6) : d.chance(0.2);
    const body: JsonObject = { turn: this.turn++ };
    if (d.chance(0.3)) body.round = d.int(0, 5);
    if (d.chance(0.3)) body.results = jsonValue(d, 1) ?? 'none';
    if (full) {
      const state = jsonObject(d, 1, undefined, [1, 6]);
      body.state = state;
      this.stateKeys = Object.keys(state);
      if (d.chance(0.15)) body.stateHash = d.chance(0.7) ? sha256Canon(state) : 'not-the-hash';
    } else {
      const patch = jsonPatch(d, this.stateKeys);
      body.patch = patch;
      for (const k of Object.keys(patch)) if (!this.stateKeys.includes(k)) this.stateKeys.push(k);
    }
    this.add('turn.result', d.chance(0.1) ? d.pick(this.slots).player : null, body);
  }

  vote(s: Slot): void {
    const d = this.d;
    const target = d.weighted([[null, 25], [d.pick(this.slots).player.wire, 60], [d.pick(this.pool).wire, 15]] as const);
    this.add('vote', s.player, data({ target, round: d.chance(0.6) ? d.int(0, 5) : undefined, kind: d.chance(0.3) ? d.pick(['eject', 'kick', 'map']) : undefined, meta: meta(d, 0.1) }));
  }

  task(s: Slot | null): void {
    const d = this.d;
    const xp = d.chance(0.7) ? d.weighted([[d.int(0, 50), 90], [d.int(-20, -1), 5], [123_456, 5]] as const) : undefined;
    const fake = d.weighted([[undefined, 70], [true, 20], [false, 10]] as const);
    this.add('task.completed', s?.player ?? null, data({ taskType: d.pick(TASKS), xp, fake, description: d.chance(0.3) ? 'Solved it 🧩' : undefined, meta: meta(d, 0.1) }));
  }

  chat(s: Slot | null): void {
    const d = this.d;
    this.add('chat.message', s?.player ?? null, data({ text: d.pick(['gg', 'I think player 2 is sus 🤔', 'null', '"quoted"']), channel: d.chance(0.5) ? 'discussion' : undefined, round: d.chance(0.4) ? d.int(0, 5) : undefined, meta: meta(d, 0.1) }));
  }

  agent(s: Slot | null): void {
    const d = this.d;
    const prompt = d.chance(0.6) ? d.pick(['what now?', 'Explain 🤖', '']) : undefined;
    this.add('agent.log', s?.player ?? null, data({
      model: d.pick(['gpt-x', 'local-llama']),
      provider: d.chance(0.5) ? 'local' : undefined,
      turn: d.chance(0.5) ? this.turn : undefined,
      prompt,
      response: d.chance(0.6) ? 'attack' : undefined,
      promptTokens: d.chance(0.5) ? d.int(0, 500) : undefined,
      completionTokens: d.chance(0.5) ? d.int(0, 500) : undefined,
      thinkingTokens: d.chance(0.2) ? d.int(0, 5000) : undefined,
      latencyMs: d.chance(0.5) ? d.pick([0, 812.5, 12]) : undefined,
      meta: meta(d, 0.1),
    }));
  }

  /** A document write: the session's chunks, or a player's inventory; conditional now and then. */
  doc(): void {
    const d = this.d;
    const s = d.chance(0.4) ? this.someSlot() : null;
    const body: Record<string, unknown> = { collection: s ? 'inv' : 'chunks', key: d.pick(DOC_KEYS) };
    if (s) body.owner = 'player';
    else if (d.chance(0.2)) body.owner = 'session';
    if (d.chance(0.35)) body.expectedVersion = d.weighted([[0, 3], [1, 3], [2, 2], [3, 1], [7, 1]] as const);
    const del = d.chance(0.2);
    if (!del) body.value = jsonValue(d, 1) ?? d.pick([0, 'x', false]);
    const draft = this.add(del ? 'doc.delete' : 'doc.put', s?.player ?? (d.chance(0.2) ? this.someSlot()?.player ?? null : null), data(body));
    if (!del && d.chance(0.04)) draft.refused = { ...draft.data, value: null };
  }

  /** An event of the game's own type: free-form data. */
  own(s: Slot | null): void {
    this.add(this.d.pick(GAME_TYPES_OWN), s?.player ?? null, jsonObject(this.d, 1));
  }

  move(s: Slot | null): void {
    const d = this.d;
    this.add('move', s?.player ?? null, data({ action: d.pick(ACTIONS), round: d.chance(0.4) ? d.int(0, 5) : undefined, turn: d.chance(0.6) ? this.turn : undefined, data: d.chance(0.7) ? jsonValue(d, 1) ?? 0 : undefined }));
  }

  finished(): void {
    const d = this.d;
    const winners = this.slots.filter((s) => this.trueOutcome(s) === 'win');
    const playerWire = (p: Player) => (d.chance(0.3) ? p.text : p.wire);
    const scoreOf = (win: boolean) => (this.draw ? 5 : win ? d.int(6, 9) : d.int(0, 5));
    const kinds = [['players', 30], ['teams', this.teams.length ? 20 : 0], ['scoresPlayers', 15], ['scoresTeams', this.teams.length ? 10 : 0], ['emptyWinners', 5], ['nothing', 10], ['both', 5]] as const;
    const kind = d.weighted(kinds);
    const body: Record<string, unknown> = {};
    if (kind === 'players' || kind === 'both') body.winners = winners.map((s) => playerWire(s.player));
    if (kind === 'teams') body.winners = this.draw ? [] : [this.teamWire(this.winningTeam!)];
    if (kind === 'emptyWinners') body.winners = [];
    if (kind === 'scoresPlayers' || kind === 'both' || kind === 'emptyWinners') {
      const sc: JsonObject = {};
      for (const s of this.slots) if (d.chance(0.85)) sc[s.player.text] = scoreOf(this.trueOutcome(s) === 'win');
      body.scores = sc;
    }
    if (kind === 'scoresTeams') {
      const sc: JsonObject = {};
      for (const t of this.teams) sc[t] = scoreOf(t === this.winningTeam);
      body.scores = sc;
    }
    if (d.chance(0.5)) body.result = d.pick(['crew wins', 'حكم', '']);
    if (d.chance(0.1)) body.meta = jsonObject(d, 1);
    this.add('session.finished', null, data(body), this.ended ? 'second-end' : undefined);
    this.ended = true;
  }

  abandoned(): void {
    this.add('session.abandoned', null, data({ reason: this.d.chance(0.6) ? 'everyone left' : undefined, meta: meta(this.d, 0.1) }), this.ended ? 'second-end' : undefined);
    this.ended = true;
  }

  someSlot(filter: (s: Slot) => boolean = () => true): Slot | null {
    const c = this.slots.filter(filter);
    return c.length ? this.d.pick(c) : null;
  }

  /** A mid-game or after-the-end event of any family. */
  bodyEvent(): void {
    const d = this.d;
    const kind = d.weighted([['move', 22], ['turn', 22], ['vote', 10], ['task', 12], ['chat', 8], ['agent', 6], ['left', 4], ['rejoin', 4], ['newcomer', 2], ['outcome', 2], ['started', 2], ['doc', 14], ['own', 3]] as const);
    const anyone = () => (d.chance(0.9) ? this.someSlot() : null);
    switch (kind) {
      case 'move': return this.move(anyone());
      case 'turn': return this.turnResult();
      case 'vote': return this.vote(this.someSlot()!);
      case 'task': return this.task(anyone());
      case 'chat': return this.chat(anyone());
      case 'agent': return this.agent(anyone());
      case 'left': {
        const s = this.someSlot((x) => x.present);
        return s ? this.left(s) : this.move(null);
      }
      case 'rejoin': {
        const s = this.someSlot((x) => !x.present) ?? this.someSlot();
        return this.join(s!, true);
      }
      case 'newcomer': {
        const p = d.pick(this.pool);
        if (this.slots.some((s) => s.player === p)) return this.join(this.someSlot()!, true);
        const s: Slot = { player: p, team: this.teams.length ? d.pick(this.teams) : undefined, joined: false, present: false, outcomes: 0 };
        this.slots.push(s);
        return this.join(s);
      }
      case 'outcome': return this.outcome(this.someSlot()!);
      case 'started': return this.started();
      case 'doc': return this.doc();
      case 'own': return this.own(anyone());
    }
  }
}

/** The drafts of one session in the producer's order (before seqs, times and ids). */
export function draftSession(d: Draw, pool: Player[]): Draft[] {
  const gameType = d.pick(GAME_TYPES);
  const s = new SessionDraft(d, pool);
  const createdMode = d.weighted([['first', 80], ['late', 10], ['missing', 4], ['twice', 6]] as const);
  if (createdMode === 'first' || createdMode === 'twice') s.add('session.created', null, s.createdData(gameType));
  const startEarly = d.chance(0.4);
  if (startEarly) s.started();
  for (const slot of d.shuffle([...s.slots])) if (d.chance(0.92)) s.join(slot);
  if (!startEarly && d.chance(0.75)) s.started();
  const body = d.int(2, 16);
  for (let i = 0; i < body; i++) s.bodyEvent();
  const outcomesBefore = d.chance(0.4);
  if (outcomesBefore) for (const slot of s.slots) if (d.chance(0.9)) s.outcome(slot);
  if (d.chance(0.15)) s.outcome(d.pick(s.slots), true);
  const end = d.weighted([['finished', 65], ['abandoned', 15], ['none', 20]] as const);
  if (end === 'finished') s.finished();
  if (end === 'abandoned') s.abandoned();
  if (end !== 'none' || d.chance(0.5)) {
    if (!outcomesBefore && d.chance(0.7)) for (const slot of s.slots) if (d.chance(0.85)) s.outcome(slot);
    if (d.chance(0.25)) for (let i = d.int(1, 2); i > 0; i--) s.outcome(d.pick(s.slots), true);
    if (s.ended && d.chance(0.1)) (d.chance(0.6) ? s.finished() : s.abandoned());
    if (d.chance(0.25)) s.turnResult();
    if (d.chance(0.2)) s.task(s.someSlot());
    if (d.chance(0.2)) s.vote(s.someSlot()!);
    if (d.chance(0.08)) s.started();
    if (d.chance(0.1)) s.bodyEvent();
    if (d.chance(0.1)) {
      const p = d.pick(pool);
      const slot = s.slots.find((x) => x.player === p) ?? { player: p, team: s.teams.length ? d.pick(s.teams) : undefined, joined: false, present: false, outcomes: 0 };
      if (!s.slots.includes(slot)) s.slots.push(slot);
      s.join(slot, true);
    }
    if (d.chance(0.1)) {
      const slot = s.someSlot((x) => x.present);
      if (slot) s.left(slot);
    }
  }
  const drafts = s.drafts;
  if (createdMode === 'late') drafts.splice(d.int(1, drafts.length), 0, { type: 'session.created', player: null, data: s.createdData(gameType), note: 'late-created' });
  if (createdMode === 'twice') {
    const other = d.pick(GAME_TYPES.filter((t) => t !== gameType));
    drafts.splice(d.int(1, drafts.length), 0, { type: 'session.created', player: null, data: s.createdData(other), note: 'second-created' });
  }
  // A producer that issued a seq twice: a second, different event at an existing seq.
  if (d.chance(0.08)) {
    for (let k = d.int(1, 2); k > 0; k--) {
      const target = d.pick(drafts);
      const before = drafts.length;
      d.pick([() => s.move(s.someSlot()), () => s.turnResult(), () => s.vote(s.someSlot()!), () => s.task(s.someSlot()), () => s.outcome(d.pick(s.slots), true), () => s.join(d.pick(s.slots), true), () => s.finished(), () => s.chat(null), () => s.doc(), () => s.doc()])();
      const extra = drafts.splice(before, 1)[0];
      if (!extra) continue;
      extra.conflictOf = target;
      extra.note = 'conflict';
      drafts.splice(drafts.indexOf(target) + 1, 0, extra);
    }
  }
  return drafts;
}
