/**
 * Magic Adventure (seed 003) played through a crash: the Python world server
 * (examples/adventure/world.py, on the Python client and the HTTP API) grows three persistent worlds at
 * test size, is killed once and restarted, and restores each world from the recovery API. Then the
 * seed's own data — chunks and characters as documents, story choices and world-evolution logs as
 * registered game types, AI agents' activity, world snapshots — read through the API and checked
 * against what the ledger alone says.
 */
import { describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../../src/loadgen/ledger.ts';
import { stateHash } from '../../../src/snapshots/hash.ts';
import { eventually, expectLedgerKept, playedGame } from './games-fixture.ts';

type Doc = { collection: string; key: string; player: string | null; value: unknown; version: number };
type Out = { state: Record<string, any>; documents: Record<string, unknown>; versions: Record<string, number>; restored: { digestMatches: boolean } | null };

const TYPES = ['x.adventure.agent_activity', 'x.adventure.story_choice', 'x.adventure.world_evolution'];

describe('Magic Adventure world server (Python)', () => {
  const ctx = playedGame('adventure', { sessions: 3, seed: 7 });
  const out = () => ctx.r.out.sessions as Record<string, Out>;
  const events = (id: string) => ctx.r.ledger.filter((e) => e.sessionId === id).sort((a, b) => a.seq! - b.seq!);
  const enc = encodeURIComponent;
  /** The documents as the ledger's doc.put events fold (last write by seq, one version per write). */
  const folded = (id: string) => {
    const docs = new Map<string, { value: unknown; version: number }>();
    for (const e of events(id).filter((x) => x.type === 'doc.put')) {
      const k = `${e.data.collection}/${e.data.owner === 'player' ? e.player : ''}/${e.data.key}`;
      docs.set(k, { value: e.data.value, version: (docs.get(k)?.version ?? 0) + 1 });
    }
    return docs;
  };
  const name = (d: Doc) => `${d.collection}/${d.player ?? ''}/${d.key}`;

  it('stores every event the world server was told was accepted exactly once, through a kill and a restart', () => {
    expectLedgerKept(ctx);
    // The Python client's crash point falls between requests: nothing can be stored without its line.
    expect(ctx.report.unexpected).toBe(0);
  });

  it('restores each world after the restart: its live state and every document equal the world server’s own', async () => {
    for (const id of ctx.sessions) {
      const rec = await ctx.get(`/v1/sessions/${enc(id)}/recover?documents=all`);
      // Never abandoned, never ended: the world lives on.
      expect(rec.session.status).toBe('started');
      expect(rec.session.settings.idleTimeoutS).toBe(0);
      expect(rec.session.lostSeqs).toBe(0);
      expect(rec.state.value).toEqual(out()[id].state);
      expect(rec.state.value.phase).toBe('resting');
      expect(rec.documents.truncated).toBe(false);
      const docs = rec.documents.items as Doc[];
      expect(Object.fromEntries(docs.map((d) => [name(d), d.value]))).toEqual(out()[id].documents);
      expect(Object.fromEntries(docs.map((d) => [name(d), d.version]))).toEqual(out()[id].versions);
      expect(rec.state.value.docs.digest).toBe(stateHash(out()[id].documents));
      // The restarted process checked what it recovered against the digest in the state.
      expect(out()[id].restored).toMatchObject({ digestMatches: true });
      // Characters are written only over the version read: none was refused.
      expect((await ctx.get(`/v1/sessions/${enc(id)}/document-rejections`)).rejections).toEqual([]);
    }
  });

  it('keeps chunks and characters as documents: what the ledger wrote, by key, prefix and player', async () => {
    for (const id of ctx.sessions) {
      const expected = folded(id);
      const size = out()[id].state.world.size as number;
      const chunks: Doc[] = [];
      for (let after: string | null = null; ; ) {
        const page: { documents: Doc[]; next: string | null } = await ctx.get(`/v1/sessions/${enc(id)}/documents/chunks?limit=4${after ? `&after=${enc(after)}` : ''}`);
        chunks.push(...page.documents);
        if (!(after = page.next)) break;
      }
      expect(chunks).toHaveLength(size * size);
      for (const d of chunks) expect({ value: d.value, version: d.version }).toEqual(expected.get(name(d)));
      // A row of the world by key prefix, in key order.
      const row = await ctx.get(`/v1/sessions/${enc(id)}/documents/chunks?prefix=01:`);
      expect(row.documents.map((d: Doc) => d.key)).toEqual(Array.from({ length: size }, (_, z) => `01:${String(z).padStart(2, '0')}`));
      // Blocks set by heroes sit in the chunk of their coordinates (seed 003's set_block: x // 16, x % 16).
      const builds = [...expected].filter(([k]) => k.startsWith('chunks/')).flatMap(([, d]) => Object.keys((d.value as any).blocks));
      expect(builds.every((b) => b.split(',').map(Number).every((n) => n >= 0))).toBe(true);
      for (const hero of out()[id].state.heroes as string[]) {
        const c = await ctx.get(`/v1/sessions/${enc(id)}/documents/characters/${enc(hero)}?player=${enc(hero)}`);
        expect({ value: c.value, version: c.version }).toEqual(expected.get(`characters/${hero}/${hero}`));
        expect(c.value.position.x >> 4).toBeLessThan(size);
        const mine = await ctx.get(`/v1/players/${enc(hero)}/documents?collection=characters`);
        expect(mine.documents.map((d: Doc & { sessionId: string }) => d.sessionId).sort()).toEqual([...ctx.sessions].sort());
      }
    }
  });

  it('registers its own event types with JSON Schemas, and replays story choices and world evolution as they were sent', async () => {
    const types = await ctx.get('/v1/contract/types');
    const registered = types.types.filter((t: { type: string }) => TYPES.includes(t.type));
    expect(registered.map((t: { type: string }) => t.type).sort()).toEqual(TYPES);
    // Registered once, whatever the restarts (a type is registered again only when its schema changed).
    for (const t of registered) expect([t.version, t.schema.type]).toEqual([1, 'object']);
    for (const id of ctx.sessions) {
      const replayed = await ctx.replay(id);
      const ledgered = events(id);
      expect(replayed.map((e) => e.seq)).toEqual(replayed.map((_, i) => i + 1));
      for (const type of TYPES) {
        const sent = ledgered.filter((e) => e.type === type).map((e) => ({ id: e.id, seq: e.seq, player: e.player, data: e.data }));
        expect(sent.length).toBeGreaterThan(0);
        expect(replayed.filter((e) => e.type === type).map((e) => ({ id: e.id, seq: e.seq, player: e.player, data: e.data }))).toEqual(sent);
      }
    }
  });

  it("follows the stories' branches: each story document's path is the scenes its choices were made in", async () => {
    for (const id of ctx.sessions) {
      const choices = events(id).filter((e) => e.type === 'x.adventure.story_choice');
      const stories = await ctx.get(`/v1/sessions/${enc(id)}/documents/stories`);
      for (const s of stories.documents as Doc[]) {
        const path = (s.value as { path: string[] }).path;
        const mine = choices.filter((c) => c.data.story === s.key);
        expect(path.slice(0, -1)).toEqual(mine.map((c) => c.data.scene));
        expect((s.value as { scene: string }).scene).toBe(path.at(-1));
        expect(out()[id].state.stories[s.key]).toBe(path.at(-1));
      }
      expect(out()[id].state.choices).toBe(choices.length);
    }
  });

  it("logs the AI agents' activity: their LLM calls, activities and evolutions, and each agent's own document", async () => {
    for (const id of ctx.sessions) {
      const ev = events(id);
      const agents = await ctx.get(`/v1/sessions/${enc(id)}/documents/agents`);
      expect(agents.documents.length).toBeGreaterThanOrEqual(2);
      for (const a of agents.documents as Doc[]) {
        const calls = ev.filter((e) => e.type === 'agent.log' && e.data.agent === a.key);
        const activity = ev.filter((e) => e.type === 'x.adventure.agent_activity' && e.data.agent === a.key);
        const evolutions = ev.filter((e) => e.type === 'x.adventure.world_evolution' && e.data.agent === a.key);
        expect(calls.length).toBeGreaterThan(0);
        expect([activity.length, evolutions.length]).toEqual([calls.length, calls.length]);
        expect((a.value as { activities: number }).activities).toBe(calls.length);
        expect(calls.every((c) => c.data.model === (a.value as { model: string }).model && (c.data.promptTokens as number) > 0)).toBe(true);
      }
      // A terraformer's evolution changed the biome of the chunk it names, as the chunk's document says at the end
      // unless a later evolution changed it again.
      const terrain = ev.filter((e) => e.type === 'x.adventure.world_evolution' && e.data.evolutionType === 'terrain');
      const lastByChunk = new Map(terrain.map((e) => [e.data.target as string, e]));
      for (const [key, e] of lastByChunk) {
        const chunk = await ctx.get(`/v1/sessions/${enc(id)}/documents/chunks/${enc(key)}`);
        expect(chunk.value.biome).toBe((e.data.changes as { biome: string[] }).biome[1]);
      }
      expect(out()[id].state.evolutions).toBe(ev.filter((e) => e.type === 'x.adventure.world_evolution').length);
    }
  });

  it('takes world snapshots: the full states the world sent, with hashes the workers verified', async () => {
    for (const id of ctx.sessions) {
      const full = new Map<number, LedgerEvent>(events(id).filter((e) => e.type === 'turn.result' && e.data.state).map((e) => [e.seq!, e]));
      expect(full.size).toBeGreaterThanOrEqual(2);
      // Taken by the workers' snapshot jobs, a moment after the turn result was stored.
      let server: { seq: number; hash: string; value: Record<string, unknown> }[] = [];
      await eventually(async () => {
        const snaps = await ctx.get(`/v1/sessions/${enc(id)}/snapshots?withState=true`);
        server = snaps.filter((s: { reason: string }) => s.reason === 'server');
        expect(server.map((s) => s.seq).sort((a, b) => a - b)).toEqual([...full.keys()].sort((a, b) => a - b));
      });
      for (const s of server) {
        const sent = full.get(s.seq)!;
        expect(s.value).toEqual(sent.data.state);
        expect(s.hash).toBe(sent.data.stateHash);
        expect(stateHash(s.value)).toBe(s.hash);
      }
      // The newest is the world as it rests, which recovery starts from.
      const rec = await ctx.get(`/v1/sessions/${enc(id)}/recover`);
      expect(rec.snapshot.seq).toBe(Math.max(...full.keys()));
      expect(rec.snapshot.value).toEqual(out()[id].state);
    }
  });
});
