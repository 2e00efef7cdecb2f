/** `players stats|agents`, `leaderboard`, `sessions leaderboard|recent|agents`, `tenants stats|chat`, `stats daily`, `verify`, `rebuild`. */
import type { Config } from '../config.ts';
import { openOrm } from '../db/orm.ts';
import { createReader, type Reader } from '../db/reader.ts';
import { METRIC_NAMES, type Metric } from '../db/sql/aggregates.ts';
import {
  dailyStats, leaderboard, playerAgentUsage, playerStats, recentSessions, sessionAgentUsage, sessionLeaderboard, tenantChat, tenantStats, type AgentUsage,
} from '../aggregates/read.ts';
import { recordVerifyRun, verifyAggregates } from '../aggregates/verify.ts';
import { rebuildAggregates } from '../aggregates/rebuild.ts';
import { UsageError, intFlag, type Flags } from './args.ts';
import { esc, progress } from './output.ts';
import { systemClock } from '../clock.ts';

const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
const MEDALS = ['🥇', '🥈', '🥉'];
const medal = (rank: number) => MEDALS[rank - 1] ?? `${rank}.`;
const OUTCOME = { win: '✅ win', loss: '❌ lose', draw: '🤝 draw' } as Record<string, string>;
const METRIC_ICON: Record<Metric, string> = { xp: '✨', wins: '🏆', win_rate: '📈', rating: '⭐', best_score: '🎯' };

/** Analytics reads go to the replica when DATABASE_READ_URL is set. */
async function withReader<T>(cfg: Readonly<Config>, fn: (r: Reader) => Promise<T>): Promise<T> {
  const r = createReader(cfg.databaseReadUrl ?? cfg.databaseUrl, { max: 2 });
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}

export async function runPlayers(cfg: Readonly<Config>, sub: string | undefined, id: string | undefined, flags: Flags): Promise<number> {
  if ((sub !== 'stats' && sub !== 'agents') || !id) throw new UsageError('usage: players stats|agents <player id>');
  if (sub === 'agents') return printAgentUsage(await withReader(cfg, (r) => playerAgentUsage(r, id)), `player ${id}`, flags);
  const s = await withReader(cfg, (r) => playerStats(r, id, flags.tenant !== undefined ? { tenant: flags.tenant } : {}));
  if (!s) {
    console.error(`no player ${id}`);
    return 1;
  }
  if (flags.json) {
    console.log(JSON.stringify(s));
    return 0;
  }
  const a = s.all;
  console.log(esc`📊 Player Statistics — ${s.name ?? s.playerId}\n`);
  if (!a) console.log('No games yet.');
  else {
    console.log(esc`✨ Total XP: ${a.xp}${s.xpRank ? `  (rank ${s.xpRank})` : ''}`);
    console.log(esc`🎮 Games Played: ${a.games}`);
    console.log(esc`🏆 Games Won: ${a.wins}`);
    console.log(esc`📈 Win Rate: ${pct(a.games ? a.wins / a.games : null)}`);
    console.log(esc`🔧 Tasks Completed: ${a.tasks}`);
    console.log(esc`🛠️ Fake Tasks: ${a.fakeTasks}`);
    console.log(esc`🗳️ Votes Cast: ${a.votes}`);
    console.log(esc`💀 Losses: ${a.losses}${a.draws ? `   🤝 Draws: ${a.draws}` : ''}`);
    if (a.bestScore !== null) console.log(esc`🎯 Best Score: ${a.bestScore}`);
    if (a.rating !== null) console.log(esc`⭐ Rating: ${a.rating.toFixed(2)} (μ ${a.mu?.toFixed(2)}, σ ${a.sigma?.toFixed(2)}, ${a.ratedGames} rated games)`);
    console.log(esc`🕒 Last Played: ${a.lastPlayedAt ?? '-'}`);
    if (a.games) {
      console.log(esc`\n🎯 Performance:`);
      console.log(esc`• Average XP per game: ${(a.xp / a.games).toFixed(1)}`);
      console.log(esc`• Task efficiency: ${((a.tasks + a.fakeTasks) / a.games).toFixed(1)} tasks/game`);
    }
    for (const [game, g] of Object.entries(s.games))
      console.log(esc`\n🎲 ${game}: ${g.games} games, ${g.wins} won (${pct(g.games ? g.wins / g.games : null)}), ${g.xp} XP${g.rating !== null ? `, rating ${g.rating.toFixed(2)}` : ''}`);
  }
  return 0;
}

export async function runLeaderboard(cfg: Readonly<Config>, flags: Flags): Promise<number> {
  const by = (flags.by ?? 'xp') as Metric;
  if (!METRIC_NAMES.includes(by)) throw new UsageError(`--by must be one of ${METRIC_NAMES.join(', ')}`);
  const board = await withReader(cfg, (r) =>
    leaderboard(r, {
      by, period: flags.period, game: flags.game, around: flags.around, limit: intFlag(flags, 'limit', flags.around ? 5 : 10), timeZone: cfg.statsTimeZone,
      ...(flags.tenant !== undefined ? { tenant: flags.tenant } : {}),
    }),
  );
  if (flags.json) {
    console.log(JSON.stringify(board));
    return 0;
  }
  const title = board.scope === 'all' ? 'Global' : board.scope;
  console.log(esc`🏆 ${title} Leaderboard — by ${by.replace('_', ' ')} (${board.players} players)\n`);
  if (!board.rows.length) console.log(flags.around ? `${flags.around} is not on this board.` : 'Nobody yet.');
  for (const r of board.rows) {
    const v = by === 'win_rate' ? pct(r.value) : by === 'rating' ? r.value.toFixed(2) : String(r.value);
    console.log(esc`${r.me ? '👉' : '  '} ${medal(r.rank)} ${(r.name ?? r.playerId).padEnd(24)} ${METRIC_ICON[by]} ${v.padStart(9)}   🎮 ${r.games} games, ${r.wins} won`);
  }
  return 0;
}

export async function runSessionLeaderboard(cfg: Readonly<Config>, id: string, flags: Flags): Promise<number> {
  const b = await withReader(cfg, (r) => sessionLeaderboard(r, id));
  if (!b) {
    console.error(`no session ${id}`);
    return 1;
  }
  if (flags.json) {
    console.log(JSON.stringify(b));
    return 0;
  }
  console.log(esc`🏆 Session ${b.name ?? b.sessionId} Leaderboard${b.gameType ? ` (${b.gameType})` : ''}\n`);
  for (const p of b.players) {
    console.log(esc`${medal(p.rank)} ${p.name ?? p.playerId}`);
    console.log(esc`   ✨ XP: ${p.xp}${p.role ? ` | 🎭 Role: ${p.role}` : ''}${p.team ? ` | 👥 Team: ${p.team}` : ''}${p.outcome ? ` | ${OUTCOME[p.outcome]}` : ''}${p.score !== null ? ` | 🎯 Score: ${p.score}` : ''}\n`);
  }
  return 0;
}

/** `sessions agents <id>` and `players agents <id>`: LLM/agent calls, tokens and latency per player, model and provider. */
export async function runSessionAgents(cfg: Readonly<Config>, id: string, flags: Flags): Promise<number> {
  return printAgentUsage(await withReader(cfg, (r) => sessionAgentUsage(r, id)), `session ${id}`, flags);
}

function printAgentUsage(u: { agents: AgentUsage[] } | null, what: string, flags: Flags): number {
  if (!u) {
    console.error(`no ${what}`);
    return 1;
  }
  if (flags.json) {
    console.log(JSON.stringify(u));
    return 0;
  }
  const ms = (v: number | null) => (v === null ? '-' : v.toFixed(0));
  console.log(esc`🤖 Agent usage — ${what}\n`);
  if (!u.agents.length) console.log('No agent calls.');
  for (const a of u.agents)
    console.log(
      esc`${a.playerId ?? '(no player)'}  ${a.model}${a.provider ? ` (${a.provider})` : ''}: ${a.calls} calls in ${a.sessions} session(s), tokens ${a.promptTokens} prompt / ${a.completionTokens} completion / ${a.thinkingTokens} thinking, latency ms mean ${ms(a.latencyMs.mean)} p95 ${ms(a.latencyMs.p95)} max ${ms(a.latencyMs.max)}`,
    );
  return 0;
}

export async function runRecentSessions(cfg: Readonly<Config>, flags: Flags): Promise<number> {
  const rows = await withReader(cfg, (r) => recentSessions(r, { tenant: flags.tenant, limit: intFlag(flags, 'limit', 10) }));
  if (flags.json) {
    console.log(JSON.stringify(rows));
    return 0;
  }
  console.log(esc`🕒 Recent Sessions${flags.tenant ? ` — ${flags.tenant}` : ''}\n`);
  const icon = { created: '🆕', started: '⏳', finished: '✅', abandoned: '🚫' } as Record<string, string>;
  for (const s of rows)
    console.log(
      esc`${icon[s.status] ?? ''} ${s.name ?? s.id}  ${s.gameType ?? '?'}  ${s.players} players  ${s.status}  started ${s.startedAt ?? s.firstEventAt}${s.endedAt ? `, ended ${s.endedAt}` : ''}${s.result !== null ? `  — ${s.result}` : ''}`,
    );
  return 0;
}

export async function runTenants(cfg: Readonly<Config>, sub: string | undefined, id: string | undefined, flags: Flags): Promise<number> {
  if ((sub !== 'stats' && sub !== 'chat') || !id) throw new UsageError('usage: tenants stats|chat <tenant> [--days N]');
  if (sub === 'chat') return runTenantChat(cfg, id, flags);
  const s = await withReader(cfg, (r) => tenantStats(r, id, intFlag(flags, 'days', 7)));
  if (flags.json) {
    console.log(JSON.stringify(s));
    return 0;
  }
  console.log(esc`📊 Chat Statistics — ${id}\n`);
  console.log(esc`🎮 Total Sessions: ${s.total}`);
  console.log(esc`⏳ Active Sessions: ${s.active}`);
  console.log(esc`✅ Completed Sessions: ${s.completed}`);
  console.log(esc`🚫 Abandoned Sessions: ${s.abandoned}`);
  console.log(esc`📈 Completion Rate: ${pct(s.completionRate)}`);
  console.log(esc`\n📅 Time Period: Last ${s.days} days`);
  return 0;
}

async function runTenantChat(cfg: Readonly<Config>, tenant: string, flags: Flags): Promise<number> {
  const c = await withReader(cfg, (r) => tenantChat(r, tenant, intFlag(flags, 'days', 7)));
  if (flags.json) {
    console.log(JSON.stringify(c));
    return 0;
  }
  console.log(esc`💬 Chat — ${tenant}: ${c.messages} messages in the last ${c.days} days\n`);
  for (const p of c.players) console.log(esc`• ${p.name ?? p.playerId}: ${p.messages}  (${p.channels.map((x) => `${x.channel ?? '-'} ${x.messages}`).join(', ')})`);
  if (c.channels.length) console.log(esc`\nBy channel: ${c.channels.map((x) => `${x.channel ?? '-'} ${x.messages} (${x.players} players)`).join(', ')}`);
  return 0;
}

export async function runStats(cfg: Readonly<Config>, sub: string | undefined, flags: Flags): Promise<number> {
  if (sub !== 'daily') throw new UsageError('usage: stats daily [--days N] [--game TYPE]');
  const rows = await withReader(cfg, (r) => dailyStats(r, intFlag(flags, 'days', 7), cfg.statsTimeZone, systemClock, { ...(flags.game !== undefined ? { game: flags.game } : {}) }));
  if (flags.json) {
    console.log(JSON.stringify(rows));
    return 0;
  }
  console.log(esc`📅 Daily Statistics${flags.game !== undefined ? ` — ${flags.game}` : ''} (${cfg.statsTimeZone})\n`);
  console.log(esc`${'day'.padEnd(10)} ${'created'.padStart(8)} ${'started'.padStart(8)} ${'finished'.padStart(8)} ${'abandoned'.padStart(9)} ${'avg min'.padStart(8)} ${'players'.padStart(8)}`);
  for (const d of rows)
    console.log(esc`${d.day} ${String(d.created).padStart(8)} ${String(d.started).padStart(8)} ${String(d.finished).padStart(8)} ${String(d.abandoned).padStart(9)} ${(d.avgDurationS === null ? '-' : (d.avgDurationS / 60).toFixed(1)).padStart(8)} ${String(d.players).padStart(8)}`);
  return 0;
}

export async function runVerify(cfg: Readonly<Config>, flags: Flags): Promise<number> {
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: 2 });
  try {
    const sample = flags.sample === undefined ? undefined : intFlag(flags, 'sample', 1);
    const shown = progress('verify');
    const r = await verifyAggregates(orm, { timeZone: cfg.statsTimeZone, winRateMinGames: cfg.winRateMinGames, sample, onStep: (s) => shown.update(s) }).finally(() => shown.done());
    await recordVerifyRun(orm, r);
    if (flags.json) console.log(JSON.stringify({ ok: r.drift.length === 0, ...r }));
    else {
      for (const d of r.drift) console.log(esc`drift ${d.kind} ${d.key}: stored ${JSON.stringify(d.actual)}, from events ${JSON.stringify(d.expected)}`);
      console.log(esc`${r.drift.length} drift(s); players checked: ${r.playersChecked}, sessions recomputed from their events: ${r.sessionsChecked}`);
      if (r.drift.some((d) => d.kind === 'ratings_input')) console.log('stale ratings (rating input changed after rating): `game-persist rebuild` re-rates them');
    }
    return r.drift.length ? 1 : 0;
  } finally {
    await orm.close();
  }
}

export async function runRebuild(cfg: Readonly<Config>, flags: Flags): Promise<number> {
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: 2 });
  try {
    const t0 = performance.now();
    const shown = progress('rebuild');
    const r = await rebuildAggregates(orm, {
      timeZone: cfg.statsTimeZone,
      winRateMinGames: cfg.winRateMinGames,
      onProgress: (done, total) => shown.update(`players ${done}/${total}`),
    }).finally(() => shown.done());
    const ms = Math.round(performance.now() - t0);
    if (flags.json) console.log(JSON.stringify({ ...r, ms }));
    else
      console.log(
        `recomputed ${r.sessions} sessions from their events, rebuilt the aggregates of ${r.players} players and replayed ${r.ratedSessions} rated sessions (${r.reRated} stale input(s) refreshed) in ${ms} ms`,
      );
    return 0;
  } finally {
    await orm.close();
  }
}
