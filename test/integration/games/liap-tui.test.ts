/**
 * Liap Tui (seed 001) played end to end through a crash: three four-player games at test size, the
 * game server killed once and restarted. Then the seed's own questions — the wins and best-score
 * leaderboards (`by=wins`, `by=best_score`), players' games, the full ordered replay — asked through the
 * HTTP read API, against answers computed from the ledger alone.
 */
import { describe, expect, it } from 'vitest';
import { bySession, competitionRanks, eventually, itCountsEachPlayersResults, itKeepsEveryEventAndState, outcomes, playedGame, resultsByPlayer } from './games-fixture.ts';

describe('Liap Tui game server', () => {
  const ctx = playedGame('liap-tui', { sessions: 3, seed: 7 });
  itKeepsEveryEventAndState(ctx);
  itCountsEachPlayersResults(ctx, 'liap-tui');

  it('ranks players by wins as the ledger says (the seed leaderboard by games_won)', async () => {
    const wins = new Map([...resultsByPlayer(ctx.r.ledger)].map(([p, r]) => [p, r.wins]));
    const expected = competitionRanks(wins).filter((r) => r.value > 0);
    expect(expected.length).toBeGreaterThan(0);
    await eventually(async () => {
      const board = await ctx.get('/v1/leaderboard?by=wins&game=liap-tui&limit=100');
      const rows = board.rows
        .filter((r: { value: number }) => r.value > 0)
        .map((r: { rank: number; playerId: string; value: number }) => ({ rank: r.rank, playerId: r.playerId, value: r.value }))
        .sort((a: { rank: number; playerId: string }, b: { rank: number; playerId: string }) => a.rank - b.rank || a.playerId.localeCompare(b.playerId));
      expect(rows).toEqual(expected);
    });
  });

  it("ranks players by best score (the seed's highest_score board) from the best_score leaderboard", async () => {
    // Each player's highest score over their results: the latest player.outcome of each session, by seq
    // (an outcome the kill left stored without a ledger line counts too: it is in the replay).
    const best = new Map<string, number>();
    for (const o of outcomes([...ctx.r.ledger, ...ctx.unledgered])) best.set(o.player, Math.max(best.get(o.player) ?? -Infinity, o.score!));
    expect(best.size).toBeGreaterThan(3);
    await eventually(async () => {
      const board = await ctx.get('/v1/leaderboard?by=best_score&game=liap-tui&limit=100');
      expect(board.players).toBe(best.size);
      const rows = board.rows
        .map((r: { rank: number; playerId: string; value: number }) => ({ rank: r.rank, playerId: r.playerId, value: r.value }))
        .sort((a: { rank: number; playerId: string }, b: { rank: number; playerId: string }) => a.rank - b.rank || a.playerId.localeCompare(b.playerId));
      expect(rows).toEqual(competitionRanks(best));
    });
    // One player's own: the stats of the game type carry the same best score.
    const [player, score] = [...best][0]!;
    expect((await ctx.get(`/v1/players/${encodeURIComponent(player)}/stats`)).games['liap-tui'].bestScore).toBe(score);
  });

  it('replays each session in the order it was played: the ledger by seq', async () => {
    for (const [id, events] of bySession(ctx.r.ledger)) {
      const replayed = await ctx.replay(id);
      const owed = new Set(events.map((e) => e.id));
      // In seq order (a seq drawn by the killed process and never enqueued leaves a hole).
      expect(replayed.map((e) => e.seq)).toEqual([...new Set(replayed.map((e) => e.seq))].sort((a, b) => a - b));
      const asSent = replayed.filter((e) => owed.has(e.id)).map((e) => ({ id: e.id, seq: e.seq, type: e.type, player: e.player, data: e.data }));
      expect(asSent).toEqual(events.map((e) => ({ id: e.id, seq: e.seq, type: e.type, player: e.player, data: e.data })));
      // Every round of the game is in it, with its multiplier and whether it was redealt (the seed's rounds table).
      const rounds = replayed.filter((e) => e.type === 'x.liap-tui.round').map((e) => e.data.round);
      expect(rounds).toEqual(rounds.map((_, i) => i + 1));
    }
  });
});
