import type { Config } from '../config.ts';
import { openOrm } from '../db/orm.ts';
import { query } from '../db/query.ts';
import { LIST_SESSIONS_SQL } from '../db/sql/history.ts';
import { recoverSession, replay } from '../recovery/recover.ts';
import { waitPersisted } from '../recovery/wait.ts';
import { TimeoutError } from '../errors.ts';
import { createProducer, producerOptions } from '../producers/index.ts';
import { UsageError, intFlag, type Flags } from './args.ts';
import { esc } from './output.ts';
import { runRecentSessions, runSessionAgents, runSessionLeaderboard } from './analytics.ts';

/** `sessions list|show|recover|replay`. */
export async function runSessions(cfg: Readonly<Config>, sub: string | undefined, id: string | undefined, flags: Flags): Promise<number> {
  if (sub === 'recent') return runRecentSessions(cfg, flags);
  if (sub === 'leaderboard') {
    if (!id) throw new UsageError('sessions leaderboard needs a session id');
    return runSessionLeaderboard(cfg, id, flags);
  }
  if (sub === 'agents') {
    if (!id) throw new UsageError('sessions agents needs a session id');
    return runSessionAgents(cfg, id, flags);
  }
  if (!sub || !['list', 'show', 'recover', 'replay', 'wait'].includes(sub))
    throw new UsageError('sessions needs a subcommand: list, show, recover, replay, wait, leaderboard, agents or recent');
  if (sub !== 'list' && !id) throw new UsageError(`sessions ${sub} needs a session id`);
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: 4 });
  try {
    if (sub === 'list') {
      const rows = await query<Record<string, any>>(orm.em.fork(), LIST_SESSIONS_SQL, [flags.active ?? false, flags.tenant ?? null, intFlag(flags, 'limit', 50)]);
      if (flags.json) console.log(JSON.stringify(rows));
      else {
        console.log(esc`${'id'.padEnd(36)} ${'game'.padEnd(12)} ${'tenant'.padEnd(18)} ${'status'.padEnd(10)} ${'events'.padStart(7)}  last event`);
        for (const r of rows)
          console.log(esc`${String(r.id).padEnd(36)} ${String(r.game_type ?? '').padEnd(12)} ${String(r.tenant ?? '').padEnd(18)} ${String(r.status).padEnd(10)} ${String(r.event_count).padStart(7)}  ${new Date(r.last_event_at).toISOString()}${r.gap_since ? '  (gap open)' : ''}`);
      }
      return 0;
    }
    if (sub === 'wait') {
      const seq = flags.seq !== undefined ? intFlag(flags, 'seq', 1) : await issuedSeq(cfg, id as string);
      try {
        const p = await waitPersisted(orm, id as string, seq, { timeoutMs: intFlag(flags, 'timeout-ms', 10_000) });
        console.log(flags.json ? JSON.stringify({ sessionId: id, seq, ...p }) : esc`session ${id}: persisted and folded through seq ${p.appliedSeq} (waited for ${seq})${p.lostSeqs ? `, ${p.lostSeqs} seq(s) given up as lost` : ''}`);
        return 0;
      } catch (e) {
        if (!(e instanceof TimeoutError)) throw e;
        console.error(e.message);
        return 1;
      }
    }
    if (sub === 'replay') {
      const from = flags.from ? intFlag(flags, 'from', 1) : undefined;
      const to = flags.to ? intFlag(flags, 'to', 1) : undefined;
      let n = 0;
      for await (const e of replay(orm, id as string, { fromSeq: from, toSeq: to, after: flags.after })) {
        n++;
        console.log(flags.json ? JSON.stringify(e) : `${String(e.seq).padStart(6)}  ${e.at}  ${e.type.padEnd(16)} ${(e.player ?? '').padEnd(16)} ${JSON.stringify(e.data)}`);
      }
      if (!n && !flags.json) console.error(`no events for session ${id}`);
      return 0;
    }
    const r = await recoverSession(orm, id as string, {
      issuedSeq: flags.issued !== undefined ? intFlag(flags, 'issued', 1) : undefined,
      tailLimit: flags['tail-limit'] !== undefined ? intFlag(flags, 'tail-limit', 10_000) : undefined,
      documents: flags.documents === undefined ? undefined : flags.documents === 'all' ? true : flags.documents.split(','),
    });
    if (!r) {
      console.error(`no session ${id}`);
      return 1;
    }
    if (sub === 'recover' || flags.json) {
      console.log(JSON.stringify(r));
      return 0;
    }
    const s = r.session;
    console.log(esc`session ${s.id}  ${s.gameType ?? '?'}  tenant ${s.tenant ?? '-'}  ${s.status}`);
    console.log(esc`  events ${s.eventCount}, last seq ${s.lastSeq}, applied through ${s.appliedSeq}${s.gapSince ? `, gap open since ${s.gapSince}` : ''}${s.lostSeqs ? `, ${s.lostSeqs} seq(s) lost` : ''}${s.seqConflicts ? `, ${s.seqConflicts} event(s) in seq conflicts` : ''}`);
    console.log(esc`  ${s.endSeq !== null ? `ended at seq ${s.endSeq}${s.finalAt ? `, final since ${s.finalAt}` : ', not final yet (events before the end missing)'}` : 'not ended'}`);
    console.log(esc`  created ${s.createdAt ?? '-'}  started ${s.startedAt ?? '-'}  ended ${s.endedAt ?? '-'}`);
    console.log(esc`  participants:`);
    for (const p of r.participants)
      console.log(esc`    ${p.playerId.padEnd(20)} ${String(p.role ?? '').padEnd(10)} ${String(p.team ?? '').padEnd(6)} ${p.present ? 'present' : 'left   '} ${p.outcome ?? ''}${p.xp != null ? ` ${p.xp} XP` : ''}`);
    console.log(r.state ? `  state at turn ${r.state.turn} (seq ${r.state.seq}): ${JSON.stringify(r.state.value).slice(0, 200)}` : '  no state yet');
    console.log(esc`  ${r.sinceState.length} event(s) since the state`);
    if (r.snapshot) {
      console.log(esc`  snapshot at turn ${r.snapshot.turn} (seq ${r.snapshot.seq}, ${r.snapshot.reason}, ${r.snapshot.takenAt}), ${r.tail.length} event(s) after it`);
    }
    for (const s of r.snapshotsSkipped) console.log(esc`  skipped snapshot at seq ${s.seq}: ${s.why}`);
    if (r.queue.length) console.log(esc`  join queue: ${r.queue.filter((q) => q.waiting).map((q) => q.playerId).join(', ') || 'empty'}`);
    return 0;
  } finally {
    await orm.close();
  }
}

/**
 * The last seq issued for a session: the producers' shared counter, in Redis or (GP_QUEUE_BACKEND=
 * postgres) in PostgreSQL, read the way every producer reads it; 0 when it has none.
 */
async function issuedSeq(cfg: Readonly<Config>, id: string): Promise<number> {
  const producer = createProducer({ ...producerOptions(cfg), readyTimeoutMs: 3000 });
  try {
    return await producer.lastSeq(id);
  } finally {
    await producer.close();
  }
}
