/**
 * Impostor (seed 000) played end to end through a crash: the Python bot (examples/impostor/bot.py, on
 * the Python client and the HTTP API) runs three topic rooms in two chats at test size, is killed once
 * mid-game and restarted. Then the seed's commands — /stats, /leaderboard <session>, /chatstats,
 * /global, /recent — and the join queue's notifications, asked through the read API and answered by the
 * bot, against answers computed from the ledger alone.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../../src/loadgen/ledger.ts';
import { competitionRanks, eventually, itKeepsEveryEventAndState, outcomes, playedGame } from './games-fixture.ts';

const BOT = fileURLToPath(new URL('../../../examples/impostor/bot.py', import.meta.url));

describe('Impostor bot (Python)', () => {
  const ctx = playedGame('impostor', { sessions: 3, seed: 7 });
  itKeepsEveryEventAndState(ctx);

  /** The bot's own answer to a command, from the read API. */
  const answer = (...args: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile('python3', [BOT, '--answer', ...args], { env: { ...ctx.pipe.env, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 30_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${args.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
  const ledger = () => ctx.r.ledger;
  const sessionEvents = (id: string) => ledger().filter((e) => e.sessionId === id).sort((a, b) => a.seq! - b.seq!);
  const name = (player: string) => player.slice(player.lastIndexOf('-') + 1).replace(/^./, (c) => c.toUpperCase());
  /** The chat (tenant) of each session, from its session.created. */
  const chats = () => {
    const m = new Map<string, string[]>();
    for (const e of ledger()) if (e.type === 'session.created') m.set(e.data.tenant as string, [...(m.get(e.data.tenant as string) ?? []), e.sessionId!]);
    return m;
  };
  /** Per player over every session: games, wins, losses, XP (outcomes' and tasks'), tasks and fake tasks. */
  const stats = () => {
    const m = new Map<string, { games: number; wins: number; losses: number; xp: number; tasks: number; fakeTasks: number }>();
    const get = (p: string) => m.get(p) ?? (m.set(p, { games: 0, wins: 0, losses: 0, xp: 0, tasks: 0, fakeTasks: 0 }), m.get(p)!);
    for (const o of outcomes(ledger())) {
      const s = get(o.player);
      s.games++;
      if (o.outcome === 'win') s.wins++;
      else s.losses++;
      s.xp += o.xp;
    }
    for (const e of ledger().filter((x) => x.type === 'task.completed')) {
      const s = get(e.player!);
      s.xp += e.data.xp as number;
      if (e.data.fake) s.fakeTasks++;
      else s.tasks++;
    }
    return m;
  };

  it('plays real games: roles, rounds of tasks, discussion and votes, ejections, and a side that wins', () => {
    const out = ctx.r.out.sessions as Record<string, { state: Record<string, any> }>;
    for (const id of ctx.sessions) {
      const s = out[id].state;
      const events = sessionEvents(id);
      expect(Object.values(s.roles).filter((r) => r === 'impostor')).toHaveLength(1);
      expect(['crewmates', 'impostors']).toContain(s.winner);
      // Each round voted: every player alive then cast one vote (a target or a skip).
      const votes = events.filter((e) => e.type === 'vote');
      expect(votes.length).toBeGreaterThan(0);
      expect(new Set(votes.map((v) => `${v.data.round}/${v.player}`)).size).toBe(votes.length);
      // Ejected players were ejected by a vote of their round: most votes, more than the skips.
      for (const e of events.filter((x) => x.type === 'player.left' && x.data.reason === 'ejected')) {
        const round = votes.filter((v) => v.seq! < e.seq!).at(-1)!.data.round;
        const ballots = votes.filter((v) => v.data.round === round);
        const forIt = ballots.filter((v) => v.data.target === e.player).length;
        expect(forIt).toBeGreaterThan(ballots.filter((v) => v.data.target === null).length);
      }
      const winners = s.winners as string[];
      const side = s.winner === 'impostors' ? 'impostor' : 'crewmate';
      expect([...winners].sort()).toEqual(Object.keys(s.roles).filter((p) => s.roles[p] === side).sort());
      expect(events.at(-1)!.type).toBe('session.finished');
    }
    expect(ledger().some((e) => e.type === 'task.completed' && e.data.fake === true)).toBe(true);
    expect(ledger().some((e) => e.type === 'chat.message' && e.data.channel === 'discussion')).toBe(true);
  });

  it('/stats: games, wins, losses, XP and tasks per player', async () => {
    const expected = stats();
    expect(expected.size).toBeGreaterThan(5);
    expect([...expected.values()].some((s) => s.games > 1)).toBe(true);
    await eventually(async () => {
      for (const [player, s] of expected) {
        const st = await ctx.get(`/v1/players/${encodeURIComponent(player)}/stats`);
        const g = st.games.impostor;
        expect({ player, games: g.games, wins: g.wins, losses: g.losses, xp: g.xp, tasks: g.tasks, fakeTasks: g.fakeTasks }).toEqual({ player, ...s });
      }
    });
    // The bot's reply, in the seed's format.
    const [player, s] = [...expected].sort((a, b) => b[1].games - a[1].games || a[0].localeCompare(b[0]))[0];
    const text = await answer('stats', player);
    expect(text).toContain(`📊 Player Statistics — ${name(player)}`);
    for (const line of [`✨ Total XP: ${s.xp}`, `🎮 Games Played: ${s.games}`, `🏆 Games Won: ${s.wins}`, `📈 Win Rate: ${((100 * s.wins) / s.games).toFixed(1)}%`,
      `🔧 Tasks Completed: ${s.tasks}`, `🛠️ Fake Tasks: ${s.fakeTasks}`, `💀 Losses: ${s.losses}`, `• Average XP per game: ${(s.xp / s.games).toFixed(1)}`]) {
      expect(text).toContain(line);
    }
  });

  it('/leaderboard <session>: its players by XP, with role and outcome', async () => {
    for (const id of ctx.sessions) {
      const events = sessionEvents(id);
      const xp = new Map<string, number>();
      const role = new Map<string, string>();
      const outcome = new Map<string, string>();
      for (const e of events.filter((x) => x.type === 'player.outcome')) {
        xp.set(e.player!, e.data.xp as number);
        role.set(e.player!, e.data.role as string);
        outcome.set(e.player!, e.data.outcome === 'win' ? 'win' : 'loss');
      }
      for (const e of events.filter((x) => x.type === 'task.completed')) xp.set(e.player!, xp.get(e.player!)! + (e.data.xp as number));
      const expected = competitionRanks(xp).map((r) => ({ ...r, role: role.get(r.playerId), outcome: outcome.get(r.playerId) }));
      const board = await ctx.get(`/v1/sessions/${encodeURIComponent(id)}/leaderboard`);
      const rows = board.players
        .filter((p: { outcome: string | null }) => p.outcome !== null)
        .map((p: any) => ({ rank: p.rank, playerId: p.playerId, value: p.xp, role: p.role, outcome: p.outcome }))
        .sort((a: any, b: any) => a.rank - b.rank || a.playerId.localeCompare(b.playerId));
      expect(rows).toEqual(expected);
      const text = await answer('leaderboard', id);
      expect(text.split('\n')[0]).toBe(`🏆 Session #${id} Leaderboard`);
      const medal = (rank: number) => ['🥇', '🥈', '🥉'][rank - 1] ?? `${rank}.`;
      for (const r of expected) {
        expect(text).toContain(`${medal(r.rank)} ${name(r.playerId)}\n   ✨ XP: ${r.value} | 🎭 Role: ${r.role} | ${r.outcome === 'win' ? '✅ win' : '❌ lose'}`);
      }
    }
  });

  it("/chatstats: the chat's sessions and completion rate, and each player's discussion messages", async () => {
    for (const [chat, ids] of chats()) {
      const st = await ctx.get(`/v1/tenants/${encodeURIComponent(chat)}/stats`);
      expect({ total: st.total, active: st.active, completed: st.completed, completionRate: st.completionRate }).toEqual({ total: ids.length, active: 0, completed: ids.length, completionRate: 1 });
      // The chat's messages, from what the bot sent (and any the kill left stored without a ledger line).
      const sent = ids.flatMap((id) => ctx.sessionEvents.get(id) ?? []).filter((x) => x.type === 'chat.message');
      const messages = new Map<string, number>();
      const channels = new Map<string, Map<string | null, number>>();
      for (const e of sent) {
        messages.set(e.player!, (messages.get(e.player!) ?? 0) + 1);
        const c = channels.get(e.player!) ?? channels.set(e.player!, new Map()).get(e.player!)!;
        const channel = (e.data.channel as string | undefined) ?? null;
        c.set(channel, (c.get(channel) ?? 0) + 1);
      }
      expect(messages.size).toBeGreaterThan(0);
      // The read route: per player, most messages first, each with their channels.
      const talk = await ctx.get(`/v1/tenants/${encodeURIComponent(chat)}/chat?days=1`);
      expect(talk.messages).toBe(sent.length);
      expect(talk.players.map((p: any) => [p.playerId, p.messages])).toEqual([...messages].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
      for (const p of talk.players) expect(new Map(p.channels.map((c: any) => [c.channel, c.messages]))).toEqual(channels.get(p.playerId));
      const text = await answer('chatstats', chat);
      expect(text).toContain(`🎮 Total Sessions: ${ids.length}\n⏳ Active Sessions: 0\n✅ Completed Sessions: ${ids.length}\n📈 Completion Rate: 100.0%`);
      const lines = [...messages].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([p, n]) => `• ${name(p)}: ${n}`);
      expect(text).toContain(`💬 Discussion Messages:\n${lines.join('\n')}\n`);
    }
  });

  it('/global: every player by XP', async () => {
    // Everyone who joined a room is on the board, a player who left the lobby before the game with 0.
    const xp = new Map(ledger().filter((e) => e.type === 'player.joined').map((e) => [e.player!, 0]));
    for (const [p, s] of stats()) xp.set(p, s.xp);
    const expected = competitionRanks(xp);
    await eventually(async () => {
      const board = await ctx.get('/v1/leaderboard?by=xp&game=impostor&limit=1000');
      const rows = board.rows
        .map((r: any) => ({ rank: r.rank, playerId: r.playerId, value: r.value }))
        .sort((a: any, b: any) => a.rank - b.rank || a.playerId.localeCompare(b.playerId));
      expect(rows).toEqual(expected);
    });
    const text = await answer('global');
    expect(text.split('\n')[0]).toBe('🌍 Global Leaderboard');
    for (const r of expected.filter((x) => x.rank <= 3)) expect(text).toContain(`${['🥇', '🥈', '🥉'][r.rank - 1]} ${name(r.playerId)}\n   ✨ XP: ${r.value} |`);
  });

  it("/recent: the chat's sessions, newest first, with their players and the side that won", async () => {
    for (const [chat, ids] of chats()) {
      const created = new Map(ledger().filter((e) => e.type === 'session.created').map((e) => [e.sessionId!, e]));
      const newestFirst = [...ids].sort((a, b) => created.get(b)!.at.localeCompare(created.get(a)!.at));
      const recent = await ctx.get(`/v1/sessions/recent?tenant=${encodeURIComponent(chat)}`);
      expect(recent.map((s: { id: string }) => s.id)).toEqual(newestFirst);
      // Each one's result as its session.finished said, in the list and in its recovery.
      for (const s of recent) {
        const finish = sessionEvents(s.id).find((e) => e.type === 'session.finished')!;
        expect(s.result).toBe(finish.data.result);
        expect((await ctx.get(`/v1/sessions/${encodeURIComponent(s.id)}/recover`)).session.result).toBe(finish.data.result);
      }
      const text = await answer('recent', chat);
      const blocks = newestFirst.map((id) => {
        const events = sessionEvents(id);
        const joined = new Set(events.filter((e) => e.type === 'player.joined').map((e) => e.player));
        const side = events.find((e) => e.type === 'session.finished')!.data.result as string;
        return `🎮 ${created.get(id)!.data.name} — ✅ finished\n   👥 Players: ${joined.size} | 🏆 ${side} won`;
      });
      expect(text).toBe(`🕒 Recent Game Sessions\n\n${blocks.join('\n\n')}\n`);
    }
  });

  it('notifies the join queue when a slot opens: the longest-waiting player, who then joins', async () => {
    let notified = 0;
    for (const [chat, ids] of chats()) {
      const queue = ledger().filter((e) => e.sessionId === null && e.data.tenant === chat).sort((a, b) => a.at.localeCompare(b.at));
      const waiting: LedgerEvent[] = [];
      for (const e of queue) {
        if (e.type === 'queue.entered') waiting.push(e);
        else {
          expect(e.data.reason).toBe('joined');
          // Told first: the longest-waiting player of the chat's queue.
          expect(e.player).toBe(waiting[0].player);
          waiting.shift();
          notified++;
          // ... and joined a room of the chat that a player had left before.
          const join = ledger().find((x) => x.type === 'player.joined' && x.player === e.player && ids.includes(x.sessionId!) && (x.data.meta as any)?.from === 'queue')!;
          expect(join).toBeDefined();
          expect(sessionEvents(join.sessionId!).some((x) => x.type === 'player.left' && x.seq! < join.seq!)).toBe(true);
        }
      }
      // Those still waiting are the ones the queue has, not told yet.
      await eventually(async () => {
        const q = await ctx.get(`/v1/tenants/${encodeURIComponent(chat)}/queue`);
        expect(q.waiting.map((w: any) => [w.playerId, w.notifiedAt])).toEqual(waiting.map((e) => [e.player, null]));
      });
    }
    expect(notified).toBe(ctx.sessions.length);
  });
});
