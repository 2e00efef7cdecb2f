/**
 * What the seed games' integration tests share: a real pipeline (worker and API child processes on a
 * cloned database) playing one game with a crash, the read API over HTTP, the two checks every game
 * owes (the ledger persisted once; each session recovers to the game's own final state), and answers
 * computed from the ledger alone.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { playGame, startPipeline, type Game, type Pipeline, type PlayResult } from '../../../src/loadgen/harness.ts';
import { checkLedger, type LedgerEvent, type LedgerReport } from '../../../src/loadgen/ledger.ts';
import { cloneDatabase, dropPrefix, uniqueName } from '../../helpers/services.ts';

export interface Played {
  pipe: Pipeline;
  r: PlayResult;
  report: LedgerReport;
  /** The run's session ids. */
  sessions: string[];
  get<T = any>(path: string): Promise<T>;
  /** A session's events from `GET /v1/sessions/{id}/replay` (NDJSON). */
  replay(id: string): Promise<Replayed[]>;
  /**
   * Each session's events by seq: the ledger's, plus those the kill left stored without a ledger line.
   * Emits of several sessions resolve together when one job carries them; the first to write its line
   * kills the process (GAME_CRASH_AFTER), so the others — at most one per session, its event in flight —
   * are stored but never written down. They are read back from the replay, for the answers that need
   * every move of a session.
   */
  sessionEvents: Map<string, LedgerEvent[]>;
  /** The events taken from the replay to fill those holes. */
  unledgered: LedgerEvent[];
}

export interface Replayed {
  id: string;
  type: string;
  seq: number;
  at: string;
  player: string | null;
  data: Record<string, any>;
}

/** Starts a pipeline, plays `game` (killed once mid-game) and waits until everything it sent is stored. */
export function playedGame(game: Game, opts: { sessions: number; seed: number; crash?: number; paceMs?: number; env?: Record<string, string> }): Played {
  const ctx = {} as Played;
  let db: Awaited<ReturnType<typeof cloneDatabase>>;
  const prefix = uniqueName('q');
  beforeAll(async () => {
    db = await cloneDatabase();
    ctx.pipe = await startPipeline({ databaseUrl: db.url, prefix, env: opts.env });
    ctx.get = async <T>(path: string) => {
      const res = await fetch(`${ctx.pipe.apiUrl}${path}`, { headers: { authorization: `Bearer ${ctx.pipe.apiKey}` } });
      if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    ctx.replay = async (id) => {
      const res = await fetch(`${ctx.pipe.apiUrl}/v1/sessions/${encodeURIComponent(id)}/replay`, { headers: { authorization: `Bearer ${ctx.pipe.apiKey}` } });
      if (!res.ok) throw new Error(`replay ${id}: ${res.status}`);
      return (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    };
    ctx.r = await playGame(ctx.pipe, { game, sessions: opts.sessions, seed: opts.seed, scale: 'test', crash: opts.crash ?? true, paceMs: opts.paceMs });
    ctx.sessions = Array.from({ length: opts.sessions }, (_, i) => `${ctx.r.run}-${game}-${i}`);
    // The game exited after its last emit resolved: wait until the workers stored and folded it all.
    for (const [id, events] of bySession(ctx.r.ledger)) {
      const seq = Math.max(...events.map((e) => e.seq!));
      await ctx.get(`/v1/sessions/${encodeURIComponent(id)}/wait?seq=${seq}&timeoutMs=30000`);
    }
    ctx.report = await checkLedger(ctx.pipe.reader, ctx.r.ledger, ctx.r.run);
    ctx.unledgered = [];
    ctx.sessionEvents = new Map();
    const owed = new Set(ctx.r.ledger.map((e) => e.id));
    for (const id of ctx.sessions) {
      const extra = (await ctx.replay(id)).filter((e) => !owed.has(e.id)).map((e) => ({ ...e, sessionId: id }));
      ctx.unledgered.push(...extra);
      ctx.sessionEvents.set(id, [...(bySession(ctx.r.ledger).get(id) ?? []), ...extra].sort((a, b) => a.seq! - b.seq!));
    }
  }, 180_000);
  afterAll(async () => {
    await ctx.pipe?.stop();
    await db?.drop();
    await dropPrefix(prefix);
  });
  return ctx;
}

/**
 * The ledger held: the game was killed and restarted, every event it was told was accepted is stored
 * exactly once, no seq is shared, nothing was dead-lettered, and the only events stored without a
 * ledger line are those the kill left (see sessionEvents).
 */
export function expectLedgerKept(ctx: Played): void {
  expect(ctx.r.restarts).toBeGreaterThanOrEqual(1);
  expect(ctx.report.emitted).toBe(ctx.r.ledger.length);
  expect(ctx.report.lost).toEqual([]);
  expect(ctx.report.duplicated).toEqual([]);
  expect(ctx.report.duplicatedSeqs).toEqual([]);
  expect(ctx.report.deadLettered).toBe(0);
  expect(ctx.report.unexpected).toBe(ctx.unledgered.length);
}

/** The checks every game owes, as two tests. */
export function itKeepsEveryEventAndState(ctx: Played): void {
  it('stores every event the game was told was accepted exactly once, through a kill and a restart', () => expectLedgerKept(ctx));

  it("recovers each session to the game's own final state", async () => {
    const out = ctx.r.out.sessions as Record<string, { state: unknown }>;
    expect(Object.keys(out).sort()).toEqual([...ctx.sessions].sort());
    for (const id of ctx.sessions) {
      const rec = await ctx.get(`/v1/sessions/${encodeURIComponent(id)}/recover`);
      expect(rec.session.status).toBe('finished');
      expect(rec.state.value).toEqual(out[id].state);
    }
  });
}

/** Each player's games, wins, losses, draws and XP in the game type's scope (`GET /v1/players/{id}/stats`), as the ledger's outcomes add up. */
export function itCountsEachPlayersResults(ctx: Played, gameType: string): void {
  it(`counts each player's games, wins, losses and XP in the ${gameType} scope`, async () => {
    const expected = resultsByPlayer(ctx.r.ledger);
    expect(expected.size).toBeGreaterThan(0);
    await eventually(async () => {
      for (const [player, r] of expected) {
        const g = (await ctx.get(`/v1/players/${encodeURIComponent(player)}/stats`)).games[gameType];
        expect({ player, games: g.games, wins: g.wins, losses: g.losses, draws: g.draws, xp: g.xp }).toEqual({ player, ...r });
      }
    });
  });
}

export function bySession(ledger: readonly LedgerEvent[]): Map<string, LedgerEvent[]> {
  const m = new Map<string, LedgerEvent[]>();
  for (const e of [...ledger].sort((a, b) => a.seq! - b.seq!)) {
    if (e.sessionId === null) continue;
    const list = m.get(e.sessionId);
    if (list) list.push(e);
    else m.set(e.sessionId, [e]);
  }
  return m;
}

/** Each player's result per session: their latest player.outcome by seq (a correction replaces the old one). */
export function outcomes(ledger: readonly LedgerEvent[]): { sessionId: string; player: string; outcome: string; xp: number; score: number | undefined }[] {
  const latest = new Map<string, LedgerEvent>();
  for (const e of ledger) {
    if (e.type !== 'player.outcome') continue;
    const k = `${e.sessionId}\u0000${e.player}`;
    if (!latest.has(k) || latest.get(k)!.seq! < e.seq!) latest.set(k, e);
  }
  return [...latest.values()].map((e) => ({
    sessionId: e.sessionId!, player: e.player!, outcome: e.data.outcome as string, xp: (e.data.xp as number) ?? 0, score: e.data.score as number | undefined,
  }));
}

/** Per player: games, wins, losses, draws and XP over the ledger's outcomes. */
export function resultsByPlayer(ledger: readonly LedgerEvent[]): Map<string, { games: number; wins: number; losses: number; draws: number; xp: number }> {
  const m = new Map<string, { games: number; wins: number; losses: number; draws: number; xp: number }>();
  for (const o of outcomes(ledger)) {
    const r = m.get(o.player) ?? { games: 0, wins: 0, losses: 0, draws: 0, xp: 0 };
    r.games++;
    if (o.outcome === 'win') r.wins++;
    else if (o.outcome === 'draw') r.draws++;
    else r.losses++;
    r.xp += o.xp;
    m.set(o.player, r);
  }
  return m;
}

/** A board as competition ranks (ties share one) over `value` per player, sorted by rank then player. */
export function competitionRanks(values: Map<string, number>): { rank: number; playerId: string; value: number }[] {
  const rows = [...values].map(([playerId, value]) => ({ playerId, value }));
  return rows
    .map((r) => ({ rank: 1 + rows.filter((o) => o.value > r.value).length, ...r }))
    .sort((a, b) => a.rank - b.rank || a.playerId.localeCompare(b.playerId));
}

/** Retries an assertion until it passes (boards lag the stats by one fold; ratings wait for a quiet session). */
export async function eventually(check: () => Promise<void>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
