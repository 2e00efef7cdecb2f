/**
 * Hokm (seed 002) played end to end through a crash: three 2 v 2 tables at test size, the game server
 * killed once and restarted. Then the seed's questions — team scores, ratings of every player, wins and
 * losses per game type, the daily game statistics by game type (with another game's session beside
 * them), the moves with their sequence numbers — asked through the HTTP read API, against answers
 * computed from the ledger alone (team scores by replaying the ledger's card plays under Hokm's trick rule).
 */
import { describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../../src/loadgen/ledger.ts';
import { bySession, eventually, itCountsEachPlayersResults, itKeepsEveryEventAndState, playedGame, resultsByPlayer } from './games-fixture.ts';

/** Team scores from a session's moves alone: the trick rule, seven tricks a hand, a kot worth 2 (3 against the hakem's team). */
function teamScores(events: LedgerEvent[]): Record<string, number> {
  const team = new Map(events.filter((e) => e.type === 'player.joined').map((e) => [e.player!, String(e.data.team)]));
  const score: Record<string, number> = { 1: 0, 2: 0 };
  const suit = (c: string) => c.slice(-1);
  const rank = (c: string) => ['2', '3', '4', '5', '6', '7', '8', '9', '10', 'J', 'Q', 'K', 'A'].indexOf(c.slice(0, -1));
  const moves = events.filter((e) => e.type === 'move');
  for (const call of moves.filter((e) => e.data.action === 'choose_trump')) {
    const hand = call.data.round as number;
    const trump = (call.data.data as { suit: string }).suit;
    const plays = moves.filter((e) => e.data.action === 'play_card' && e.data.round === hand);
    const tricks: Record<string, number> = { 1: 0, 2: 0 };
    for (let i = 0; i + 4 <= plays.length; i += 4) {
      const trick = plays.slice(i, i + 4).map((e) => ({ player: e.player!, card: (e.data.data as { card: string }).card }));
      const win = trick.reduce((w, p) => (suit(p.card) === suit(w.card) ? (rank(p.card) > rank(w.card) ? p : w) : suit(p.card) === trump ? p : w));
      tricks[team.get(win.player)!]++;
    }
    const winner = tricks[1] === 7 ? '1' : '2';
    expect(tricks[winner]).toBe(7);
    const loser = winner === '1' ? '2' : '1';
    score[winner] += tricks[loser] > 0 ? 1 : team.get(call.player!) === loser ? 3 : 2;
  }
  return score;
}

const day = (at: string) => at.slice(0, 10);

describe('Hokm game server', () => {
  // Ratings wait for a session to be quiet this long (10 s by default).
  const ctx = playedGame('hokm', { sessions: 3, seed: 7, env: { GP_RATING_DELAY_S: '1' } });
  itKeepsEveryEventAndState(ctx);
  itCountsEachPlayersResults(ctx, 'hokm');

  it('keeps the team scores the card plays add up to', async () => {
    for (const [id, events] of ctx.sessionEvents) {
      const expected = teamScores(events);
      const finish = events.find((e) => e.type === 'session.finished')!;
      expect(finish.data.scores).toEqual(expected);
      const rec = await ctx.get(`/v1/sessions/${encodeURIComponent(id)}/recover`);
      expect(rec.state.value.score).toEqual(expected);
      // The session's board: every player with their integer team (stored as text) and their team's score.
      const board = await ctx.get(`/v1/sessions/${encodeURIComponent(id)}/leaderboard`);
      const joined = events.filter((e) => e.type === 'player.joined');
      expect(board.players.map((p: { playerId: string; team: string; score: number }) => [p.playerId, p.team, p.score]).sort()).toEqual(
        joined.map((e) => [e.player, String(e.data.team), expected[String(e.data.team)]]).sort(),
      );
    }
  });

  it('rates every player, 2 v 2, once per finished game', async () => {
    const results = resultsByPlayer(ctx.r.ledger);
    await eventually(async () => {
      for (const [player, r] of results) {
        const stats = await ctx.get(`/v1/players/${encodeURIComponent(player)}/stats`);
        expect(stats.games.hokm.rating, player).not.toBeNull();
        expect(stats.games.hokm.ratedGames, player).toBe(r.games);
      }
    }, 30_000);
    const board = await ctx.get('/v1/leaderboard?by=rating&game=hokm&limit=100');
    expect(board.rows.map((r: { playerId: string }) => r.playerId).sort()).toEqual([...results.keys()].sort());
  }, 40_000);

  it('gives the daily statistics of Hokm games the sessions add up to, whatever else the database holds', async () => {
    // Another game type's session, finished today: counted by the unfiltered days, never by ?game=hokm.
    const other = `${ctx.r.run}-other-game`;
    const now = new Date().toISOString();
    const posted = await fetch(`${ctx.pipe.apiUrl}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.pipe.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify([
        { type: 'session.created', sessionId: other, at: now, data: { gameType: 'not-hokm' } },
        { type: 'session.started', sessionId: other, at: now, data: {} },
        { type: 'player.joined', sessionId: other, player: `${ctx.r.run}-stranger`, at: now, data: {} },
        { type: 'session.finished', sessionId: other, at: now, data: {} },
      ]),
    });
    expect(((await posted.json()) as { accepted: number }).accepted).toBe(4);
    await ctx.get(`/v1/sessions/${encodeURIComponent(other)}/wait?seq=4&timeoutMs=30000`);

    const perDay = new Map<string, { created: number; started: number; finished: number; durations: number[]; players: Set<string> }>();
    const of = (d: string) => perDay.get(d) ?? perDay.set(d, { created: 0, started: 0, finished: 0, durations: [], players: new Set() }).get(d)!;
    for (const events of ctx.sessionEvents.values()) {
      const first = events[0];
      expect(first.type).toBe('session.created');
      expect(first.data.gameType).toBe('hokm');
      const started = events.find((e) => e.type === 'session.started')!;
      const finished = events.find((e) => e.type === 'session.finished')!;
      of(day(first.at)).created++;
      for (const e of events.filter((x) => x.type === 'player.joined')) of(day(first.at)).players.add(e.player!);
      of(day(started.at)).started++;
      of(day(finished.at)).finished++;
      of(day(finished.at)).durations.push((Date.parse(finished.at) - Date.parse(started.at)) / 1000);
    }
    type Day = { day: string; created: number; started: number; finished: number; abandoned: number; avgDurationS: number | null; players: number };
    const rows = await ctx.get<Day[]>('/v1/stats/daily?days=2&game=hokm');
    for (const [d, x] of perDay) {
      const row = rows.find((r) => r.day === d)!;
      expect({ created: row.created, started: row.started, finished: row.finished, abandoned: row.abandoned, players: row.players }).toEqual({
        created: x.created, started: x.started, finished: x.finished, abandoned: 0, players: x.players.size,
      });
      expect(row.avgDurationS).toBeCloseTo(x.durations.reduce((a, b) => a + b, 0) / x.durations.length, 3);
    }
    // The other game is in the unfiltered figures of its day.
    const all = (await ctx.get<Day[]>('/v1/stats/daily?days=2')).find((r) => r.day === day(now))!;
    const hokm = rows.find((r) => r.day === day(now)) ?? { created: 0, finished: 0, players: 0 };
    expect({ created: all.created, finished: all.finished, players: all.players }).toEqual({ created: hokm.created + 1, finished: hokm.finished + 1, players: hokm.players + 1 });
  });

  it('replays the trump calls and card plays with their sequence numbers', async () => {
    for (const [id, events] of bySession(ctx.r.ledger)) {
      const moves = (await ctx.replay(id)).filter((e) => e.type === 'move');
      const owed = events.filter((e) => e.type === 'move');
      const owedIds = new Set(owed.map((e) => e.id));
      expect(moves.filter((e) => owedIds.has(e.id)).map((e) => [e.seq, e.player, e.data.action, e.data.data])).toEqual(
        owed.map((e) => [e.seq, e.player, e.data.action, e.data.data]),
      );
    }
  });
});
