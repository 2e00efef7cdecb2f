/**
 * The 4X game with LLM agents (seed 004) played end to end through a crash after the turn-10 snapshot:
 * two games at test size (20 turns), the game server killed once and restarted, restoring from the
 * newest verified snapshot. Then the seed's questions — snapshots every 10 turns with verified hashes
 * equal to the game's own, every turn's state hash, the restore point, token usage per player and model
 * from the prompt logs — asked through the HTTP read API, against answers computed from the ledger alone.
 */
import { describe, expect, it } from 'vitest';
import { mergePatch } from '../../../src/contract/merge-patch.ts';
import type { LedgerEvent } from '../../../src/loadgen/ledger.ts';
import { stateHash } from '../../../src/index.ts';
import { bySession, eventually, itCountsEachPlayersResults, itKeepsEveryEventAndState, playedGame } from './games-fixture.ts';

const turnResults = (events: LedgerEvent[]) => events.filter((e) => e.type === 'turn.result');

describe('4X game server', () => {
  // Two games interleave: the kill falls near each one's event 80 (turn 15 of 20), seconds after its
  // turn-0 and turn-10 snapshots, which pg-boss hashes within about a second (so the restart restores from one).
  const ctx = playedGame('fourx', { sessions: 2, seed: 7, crash: 160, paceMs: 30 });
  itKeepsEveryEventAndState(ctx);
  itCountsEachPlayersResults(ctx, 'fourx');

  it("hashes every turn's state as game-persist does, and the turn results fold to the recovered state", async () => {
    for (const [id, events] of bySession(ctx.r.ledger)) {
      let state: unknown = {};
      for (const t of turnResults(events)) {
        state = t.data.state ?? mergePatch(state, t.data.patch);
        expect(t.data.stateHash, `turn ${t.data.turn}`).toBe(stateHash(state));
      }
      const rec = await ctx.get(`/v1/sessions/${encodeURIComponent(id)}/recover`);
      expect(rec.state.value).toEqual(state);
    }
  });

  it('keeps a snapshot every 10 turns whose verified hash is the game’s own', async () => {
    for (const [id, events] of bySession(ctx.r.ledger)) {
      const full = turnResults(events).filter((t) => t.data.state !== undefined);
      expect(full.map((t) => t.data.turn)).toEqual([0, 10, 20]);
      const last = turnResults(events).at(-1)!;
      await eventually(async () => {
        const snaps = await ctx.get<{ seq: number; turn: number; hash: string; final: boolean; reason: string }[]>(`/v1/sessions/${encodeURIComponent(id)}/snapshots`);
        for (const t of full) expect(snaps.find((s) => s.seq === t.seq), `turn ${t.data.turn}`).toMatchObject({ turn: t.data.turn, hash: t.data.stateHash, reason: 'server' });
        // The final snapshot (at the finish) holds the last turn's state.
        expect(snaps.find((s) => s.final)?.hash).toBe(last.data.stateHash);
      });
    }
  });

  it('restored from a verified snapshot after the kill', () => {
    const out = ctx.r.out.sessions as Record<string, { found: string; restoredFrom: { seq: number; hash: string } | null }>;
    const restored = Object.entries(out).filter(([, s]) => s.restoredFrom);
    expect(restored.length).toBeGreaterThan(0);
    for (const [id, s] of restored) {
      const at = ctx.r.ledger.find((e) => e.sessionId === id && e.seq === s.restoredFrom!.seq)!;
      expect(at.type).toBe('turn.result');
      expect(at.data.stateHash).toBe(s.restoredFrom!.hash);
    }
  });

  it('sums the prompt logs per player and model: calls, tokens, thinking and latency', async () => {
    const sums = (logs: { player: string | null; data: Record<string, any> }[]) => {
      const m: Record<string, { calls: number; prompt: number; completion: number; thinking: number; latencyMs: number }> = {};
      for (const l of logs) {
        const k = `${l.player} ${l.data.model}`;
        const s = (m[k] ??= { calls: 0, prompt: 0, completion: 0, thinking: 0, latencyMs: 0 });
        s.calls++;
        s.prompt += l.data.promptTokens;
        s.completion += l.data.completionTokens;
        s.thinking += l.data.thinkingTokens ?? 0;
        s.latencyMs += l.data.latencyMs;
      }
      return m;
    };
    const owed = ctx.r.ledger.filter((e) => e.type === 'agent.log');
    const ids = new Set(owed.map((e) => e.id));
    // No read route sums agent logs: the replay of each session gives them.
    const replayed = (await Promise.all(ctx.sessions.map((id) => ctx.replay(id)))).flat().filter((e) => e.type === 'agent.log' && ids.has(e.id));
    expect(sums(replayed)).toEqual(sums(owed));
    expect(Object.values(sums(owed)).some((s) => s.thinking > 0)).toBe(true);
  });
});
