/**
 * Explains one session of a run: its events in position order (seq, id) with their times and notes,
 * and what the model expects of it. For reading a difference: `npm run test:property -- --seed S
 * --sessions N --explain <session id>`.
 */
import type { RunCase } from './arbitraries.ts';
import { usToIso } from './json.ts';
import { expectSession } from './model.ts';

export function explainSession(run: RunCase, id: string): string {
  const c = run.sessions.find((s) => s.id === id);
  if (!c) return `no session ${id} in this run (seed ${run.seed}, ${run.sessions.length} sessions)`;
  const x = expectSession(c);
  const times = (_: string, v: unknown) => (typeof v === 'number' && v > 1e15 ? usToIso(v) : v);
  const lines = [`session ${id}: ${x.ordered.length} events in position order`];
  for (const e of x.ordered)
    lines.push(`  ${String(e.seq).padStart(3)} ${e.id} ${usToIso(e.atUs)} ${e.type.padEnd(16)} ${(e.player ?? '-').padEnd(8)} ${JSON.stringify(e.data).slice(0, 160)}${e.note ? `  [${e.note}]` : ''}${e.refused ? '  [+ refused variant]' : ''}`);
  lines.push(`row: ${JSON.stringify(x.row, times)}`);
  lines.push(`live state: ${JSON.stringify(x.state)}`);
  for (const [p, row] of x.participants) lines.push(`participant ${p}: ${JSON.stringify(row, times)}`);
  lines.push(`rating input: ${JSON.stringify(x.rating)}`);
  return lines.join('\n');
}
