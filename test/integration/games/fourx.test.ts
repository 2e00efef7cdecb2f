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

  it('sums the prompt logs per player and model: calls, tokens, thinking and latency (the agent usage routes)', async () => {
    type Usage = { calls: number; sessions: number; promptTokens: number; completionTokens: number; thinkingTokens: number; latencyMs: { mean: number; max: number } };
    const sums = (logs: { sessionId: string | null; player: string | null; data: Record<string, any> }[]) => {
      const m: Record<string, Usage & { ids: Set<string | null>; total: number }> = {};
      for (const l of logs) {
        const k = `${l.player} ${l.data.model} ${l.data.provider}`;
        const s = (m[k] ??= { calls: 0, sessions: 0, promptTokens: 0, completionTokens: 0, thinkingTokens: 0, latencyMs: { mean: 0, max: 0 }, ids: new Set(), total: 0 });
        s.calls++;
        s.ids.add(l.sessionId);
        s.promptTokens += l.data.promptTokens;
        s.completionTokens += l.data.completionTokens;
        s.thinkingTokens += l.data.thinkingTokens ?? 0;
        s.total += l.data.latencyMs;
        s.latencyMs.max = Math.max(s.latencyMs.max, l.data.latencyMs);
      }
      return Object.fromEntries(Object.entries(m).map(([k, { ids, total, ...s }]) => [k, { ...s, sessions: ids.size, latencyMs: { mean: total / s.calls, max: s.latencyMs.max } }]));
    };
    const fromApi = (rows: (Usage & { playerId: string; model: string; provider: string; latencyMs: { mean: number; max: number; p95: number } })[]) =>
      Object.fromEntries(rows.map(({ playerId, model, provider, latencyMs, ...u }) => [`${playerId} ${model} ${provider}`, { ...u, latencyMs: { mean: latencyMs.mean, max: latencyMs.max } }]));
    const close = (got: Record<string, Usage>, want: Record<string, Usage>) => {
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      for (const [k, w] of Object.entries(want)) {
        expect({ ...got[k], latencyMs: undefined }, k).toEqual({ ...w, latencyMs: undefined });
        expect(got[k]!.latencyMs.mean, k).toBeCloseTo(w.latencyMs.mean, 6);
        expect(got[k]!.latencyMs.max, k).toBe(w.latencyMs.max);
      }
    };
    // What the game logged: the ledger's prompt logs, and any the kill left stored without a ledger line.
    const logs = [...ctx.sessionEvents.values()].flat().filter((e) => e.type === 'agent.log');
    expect(logs.length).toBeGreaterThan(0);
    expect(Object.values(sums(logs)).some((s) => s.thinkingTokens > 0)).toBe(true);
    for (const id of ctx.sessions) {
      const usage = await ctx.get(`/v1/sessions/${encodeURIComponent(id)}/agents`);
      close(fromApi(usage.agents), sums(logs.filter((l) => l.sessionId === id)));
      for (const a of usage.agents) expect(a.latencyMs.p95).toBeLessThanOrEqual(a.latencyMs.max);
    }
    // Per player across both games: the seed's usage per agent and model.
    for (const player of new Set(logs.map((l) => l.player!))) {
      const usage = await ctx.get(`/v1/players/${encodeURIComponent(player)}/agents`);
      close(fromApi(usage.agents), sums(logs.filter((l) => l.player === player)));
    }
  });
});
