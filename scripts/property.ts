/**
 * The long property run of "everything derived follows sequence order" (test/property): draws N
 * sessions from a seed, delivers them shuffled with re-sends to worker processes that are SIGKILLed
 * at random points, and compares everything stored and derived with the reference model.
 *
 *   npm run test:property -- --sessions 10000 [--seed N] [--workers 2] [--kills K] [--keep] [--show 2] [--out differences.jsonl]
 *   npm run test:property -- --sessions 150 --seed N --explain <session id>   # the session's events and expectations
 *
 * Progress and a summary of the differences go to stderr; the last line on stdout is one JSON object
 * ({"sessions":…, "differences":…, "seed":…, …}). Exit 1 when there are differences. It starts the
 * local PostgreSQL and Redis if they are down (scripts/services.sh) and creates and drops its own
 * database and queue prefix.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runCase } from '../test/property/arbitraries.ts';
import { explainSession } from '../test/property/explain.ts';
import { countKinds, runProperty, summarize } from '../test/property/harness.ts';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000' },
    seed: { type: 'string' },
    workers: { type: 'string', default: '2' },
    kills: { type: 'string' },
    keep: { type: 'boolean', default: false },
    show: { type: 'string', default: '2' },
    explain: { type: 'string' },
    out: { type: 'string' },
  },
});
const int = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) {
    process.stderr.write(`--${name} must be a non-negative integer, got "${v}"\n`);
    process.exit(2);
  }
  return Number(v);
};

if (values.explain !== undefined) {
  const seed = int('seed', values.seed ?? process.env.GP_PROPERTY_SEED);
  if (seed === undefined) {
    process.stderr.write('--explain needs the --seed (and --sessions) of the run\n');
    process.exit(2);
  }
  process.stdout.write(`${explainSession(runCase(seed, int('sessions', values.sessions)!), values.explain)}\n`);
  process.exit(0);
}

try {
  execFileSync('bash', [fileURLToPath(new URL('./services.sh', import.meta.url))], { stdio: ['ignore', 2, 2] });
} catch {
  process.stderr.write('PostgreSQL or Redis is not reachable (see scripts/services.sh)\n');
  process.exit(2);
}

const seed = int('seed', values.seed ?? process.env.GP_PROPERTY_SEED);
const r = await runProperty({
  sessions: int('sessions', values.sessions)!,
  seed,
  workers: int('workers', values.workers),
  kills: int('kills', values.kills),
  keepDatabase: values.keep,
  log: (line) => process.stderr.write(`[property ${new Date().toISOString().slice(11, 19)}] ${line}\n`),
});
if (values.out) writeFileSync(values.out, r.differences.map((d) => JSON.stringify(d)).join('\n') + (r.differences.length ? '\n' : ''));
if (r.differences.length) process.stderr.write(`${r.differences.length} differences (replay with --seed ${r.seed}):\n${summarize(r.differences, int('show', values.show))}\n`);
if (r.workerErrors.length) process.stderr.write(`worker error logs (first ${r.workerErrors.length}):\n${r.workerErrors.map((e) => `  ${JSON.stringify(e).slice(0, 400)}`).join('\n')}\n`);
const { differences, sessions, seed: used, workerErrors, ...rest } = r;
process.stdout.write(`${JSON.stringify({ sessions, differences: differences.length, seed: used, ...rest, workerErrors: workerErrors.length, kinds: countKinds(differences) })}\n`);
process.exit(differences.length ? 1 : 0);
