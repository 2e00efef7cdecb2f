/**
 * Turns what one transaction really changed into player_stats deltas: each inserted task, vote or
 * participant event adds to its player's scopes (all, the session's game, the periods of its time),
 * and each change of a participant's effective outcome subtracts the old one (in the periods of its own
 * time) and adds the new one; each change of a participant's counted score flags the scopes of the old
 * and the new one for a best_score recomputation (a maximum cannot be subtracted: RECOMPUTE_BEST_SQL).
 * Nothing is derived from an event that was a duplicate, so nothing counts twice.
 */
import type { ValidEvent } from '../contract/events.ts';
import type { StatDelta } from '../db/sql/aggregates.ts';
import { maxAt } from '../derive/session.ts';
import { GLOBAL_KEY, isPeriodScope, tenantScope, type StatKey } from '../derive/scopes.ts';
import { CONTRIBUTING } from '../workers/derived-rows.ts';
import { periodScopes } from './periods.ts';

const iso = (v: string | Date | null): string | null => (v === null ? null : typeof v === 'string' ? v : v.toISOString());

/** A participant whose effective outcome (what the statistics count) changed; nulls: none before / after. */
export interface EffectiveChange {
  session_id: string;
  player_id: string;
  old_outcome: string | null;
  old_xp: number | null;
  old_at: string | Date | null;
  outcome: string | null;
  xp: number | null;
  at: string | Date | null;
}

/**
 * A participant whose counted score changed: the `score` of their latest player.outcome (none without
 * one), counted in the period of that outcome's time. Nulls: no score before / after.
 */
export interface ScoreChange {
  session_id: string;
  player_id: string;
  old_score: number | null;
  old_at: string | Date | null;
  score: number | null;
  at: string | Date | null;
}

export class StatDeltas {
  private rows = new Map<string, StatDelta>();
  private periodCache = new Map<string, string[]>();
  readonly periods = new Set<string>();
  private readonly timeZone: string;
  constructor(timeZone: string) {
    this.timeZone = timeZone;
  }

  /** One row per player and scope set: a contribution goes to all its scopes in one row, expanded by the fold. */
  private row(player: string, scopes: string[], resetLast = false): StatDelta {
    const key = `${player}\u0001${scopes.join('\u0002')}${resetLast ? '\u0003' : ''}`;
    let r = this.rows.get(key);
    if (!r) {
      r = {
        player_id: player, scopes, games: 0, wins: 0, losses: 0, draws: 0, xp: 0, tasks: 0, fake_tasks: 0, votes: 0, last_at: null,
        ...(resetLast ? { reset_last: true } : {}),
      };
      this.rows.set(key, r);
    }
    return r;
  }

  /**
   * The scopes a contribution at `at` in a session of `key` counts in: all, its game, its periods, or a
   * confined session's tenant's own of those (src/derive/scopes.ts). Only global periods are registered
   * (closed and archived on schedule); a tenant's stay readable in player_stats.
   */
  scopes(at: string, key: StatKey): string[] {
    const periods = periodScopes(at, this.timeZone, this.periodCache);
    const base = key.gameType === null ? ['all', ...periods] : ['all', `game:${key.gameType}`, ...periods];
    if (key.tenant !== null) return base.map((s) => tenantScope(key.tenant, s));
    for (const p of periods) this.periods.add(p);
    return base;
  }

  /** Adds `sign` times a contribution to every scope given. */
  add(player: string, scopes: string[], c: Partial<Omit<StatDelta, 'player_id' | 'scopes'>>, sign = 1, resetLast = false): void {
    const r = this.row(player, scopes, resetLast);
    r.games += sign * (c.games ?? 0);
    r.wins += sign * (c.wins ?? 0);
    r.losses += sign * (c.losses ?? 0);
    r.draws += sign * (c.draws ?? 0);
    r.xp += sign * Number(c.xp ?? 0);
    r.tasks += sign * (c.tasks ?? 0);
    r.fake_tasks += sign * (c.fake_tasks ?? 0);
    r.votes += sign * (c.votes ?? 0);
    const at = iso(c.last_at ?? null);
    if (at !== null && sign > 0) r.last_at = maxAt(r.last_at, at);
    if (c.recompute_best) r.recompute_best = true;
  }

  /**
   * Inserted task, vote and participant events. `keys`: each session's key (its game type null while
   * unknown or changed in this transaction), or null for a session whose every scope moves in this
   * transaction (its contribution is added whole, after).
   */
  addEvents(inserted: ValidEvent[], keys: Map<string, StatKey | null>): void {
    for (const e of inserted) {
      if (!CONTRIBUTING.has(e.family) || e.sessionId === null || e.player === null) continue;
      const key = keyOf(keys, e.sessionId);
      if (key === null) continue;
      const scopes = this.scopes(e.at, key);
      if (e.family === 'task') {
        const fake = e.data.fake === true;
        this.add(e.player, scopes, { tasks: fake ? 0 : 1, fake_tasks: fake ? 1 : 0, xp: (e.data.xp as number | undefined) ?? 0, last_at: e.at });
      } else if (e.family === 'vote') this.add(e.player, scopes, { votes: 1, last_at: e.at });
      else this.add(e.player, scopes, { last_at: e.at });
    }
  }

  /** Effective outcome changes: the old one out of the periods of its time, the new one into those of its. */
  addOutcomeChanges(changes: EffectiveChange[], keys: Map<string, StatKey | null>): void {
    for (const c of changes) {
      const key = keyOf(keys, c.session_id);
      if (key === null) continue;
      if (c.old_outcome !== null && c.old_at !== null)
        this.add(c.player_id, this.scopes(iso(c.old_at) as string, key), outcomeContribution(c.old_outcome, c.old_xp), -1);
      if (c.outcome !== null && c.at !== null) this.add(c.player_id, this.scopes(iso(c.at) as string, key), outcomeContribution(c.outcome, c.xp));
    }
  }

  /** Score changes: the scopes of the old score and of the new one get their best_score recomputed. */
  addScoreChanges(changes: ScoreChange[], keys: Map<string, StatKey | null>): void {
    for (const c of changes) {
      const key = keyOf(keys, c.session_id);
      if (key === null) continue;
      if (c.old_score !== null && c.old_at !== null) this.add(c.player_id, this.scopes(iso(c.old_at) as string, key), { recompute_best: true });
      if (c.score !== null && c.at !== null) this.add(c.player_id, this.scopes(iso(c.at) as string, key), { recompute_best: true });
    }
  }

  /**
   * Whole contributions (a session's, moving between scopes): added with `sign`; `resetLast` for the
   * scopes they leave. The global periods they join are registered (a session that was confined had not).
   */
  addRows(rows: StatDelta[], sign = 1, resetLast = false): void {
    for (const r of rows) {
      this.add(r.player_id, r.scopes, r, sign, resetLast);
      if (sign > 0) for (const s of r.scopes) if (!s.startsWith('tenant:') && isPeriodScope(s)) this.periods.add(s);
    }
  }

  /** Non-empty deltas, sorted by player and scopes (deterministic; the fold sorts what it locks). */
  list(): StatDelta[] {
    return [...this.rows.values()]
      .filter((r) => r.games || r.wins || r.losses || r.draws || r.xp || r.tasks || r.fake_tasks || r.votes || r.last_at || r.reset_last || r.recompute_best)
      .sort((a, b) => {
        if (a.player_id !== b.player_id) return a.player_id < b.player_id ? -1 : 1;
        const x = a.scopes.join(' ');
        const y = b.scopes.join(' ');
        return x < y ? -1 : x > y ? 1 : 0;
      });
  }
}

/** A session's key; a session the transaction does not know counts as global without a game type. */
const keyOf = (keys: Map<string, StatKey | null>, id: string): StatKey | null => {
  const k = keys.get(id);
  return k === undefined ? GLOBAL_KEY : k;
};

function outcomeContribution(outcome: string, xp: number | null) {
  return { games: 1, wins: outcome === 'win' ? 1 : 0, losses: outcome === 'loss' ? 1 : 0, draws: outcome === 'draw' ? 1 : 0, xp: Number(xp ?? 0) };
}
