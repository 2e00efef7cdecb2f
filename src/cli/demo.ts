/**
 * The main job (`npm start`): the five seed games of examples/ played at once against a real pipeline —
 * a worker and the HTTP API as child processes — with a live progress display. Each game server is
 * killed once mid-game and recovers; the worker is killed halfway and started again. Then a summary:
 * what each game persisted, the Impostor bot's own answers, and one verification line (every accepted
 * event stored once, aggregates without drift, snapshots verified).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import { redactUrl } from '../config.ts';
import { ensureDatabase } from '../db/migrate.ts';
import { openOrm } from '../db/orm.ts';
import { runProgress, runSessions } from '../db/sql/demo.ts';
import { GAMES, playGame, ledgerLength, startPipeline, type Game, type PlayResult, type Pipeline } from '../loadgen/harness.ts';
import { checkLedger, type LedgerEvent, type LedgerReport } from '../loadgen/ledger.ts';
import { rateFinishedSessions } from '../aggregates/ratings.ts';
import { verifyAggregates } from '../aggregates/verify.ts';
import { verifySnapshots } from '../ops/verify-snapshots.ts';
import { intFlag, type Flags } from './args.ts';
import { printable } from './output.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How each game talks to the pipeline, for the summary. */
const SURFACE: Record<Game, string> = {
  impostor: 'Python client → HTTP API',
  'liap-tui': 'TypeScript SDK',
  hokm: 'TypeScript SDK',
  adventure: 'Python client → HTTP API',
  fourx: 'TypeScript SDK',
};

/**
 * Pause between two steps of a session, per game: a Python game's step (a lobby arrival, a round's
 * tasks, a world tick) sends several events in one request, so it pauses longer, and the five games
 * play over about the same stretch.
 */
const PACE_MS: Record<Game, number> = { impostor: 300, adventure: 300, 'liap-tui': 25, hokm: 25, fourx: 25 };

/** Seconds into the run at which the worker is killed, and how long it stays down. */
const WORKER_KILL_AT_S = 8;
const WORKER_DOWN_S = 2;

interface Tick {
  accepted: number;
  stored: number;
  live: number;
  finished: number;
}

/** Colour only on a terminal, and never with NO_COLOR set (https://no-color.org). */
function painter(stream: NodeJS.WriteStream): (code: number, s: string) => string {
  const on = stream.isTTY && !process.env.NO_COLOR;
  return (code, s) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
}

/** Runs the Impostor bot's answer to one of its commands (`stats`, `leaderboard` …) through the API. */
function impostorAnswer(pipe: Pipeline, run: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile('python3', [join(ROOT, 'examples/impostor/bot.py'), '--answer', ...args], { env: { ...pipe.env, GAME_RUN: run }, timeout: 20_000 }, (err, stdout, stderr) =>
      resolve(err ? `(the bot could not answer: ${String(stderr || err.message).trim().split('\n').pop()})` : stdout.trimEnd()),
    );
  });
}

export async function runDemo(cfg: Readonly<Config>, flags: Flags): Promise<number> {
  const perGame = intFlag(flags, 'sessions', 3);
  // Every choice of every game derives from the seed: a run is replayed exactly with --seed.
  const seed = intFlag(flags, 'seed', Math.floor(Math.random() * 1_000_000));
  const json = !!flags.json;
  const out = (s: string) => !json && console.log(s);
  const c = painter(process.stdout);
  const tty = !json && !!process.stdout.isTTY;
  const run = `demo-${Date.now().toString(36)}`;
  const like = `${run}-%`;

  await ensureDatabase(cfg.databaseUrl);
  out(c(1, 'game-persist demo') + ': the five seed games at once, through a game-server crash each and a worker crash');
  out(`  seed ${seed} (\`npm start -- --seed ${seed}\` plays the same games again)`);
  out(`  database ${redactUrl(cfg.databaseUrl)}; queues ${cfg.queueBackend === 'postgres' ? "on BullMQ's PostgreSQL backend (same database)" : `in Redis at ${redactUrl(cfg.redisUrl)}`}`);
  const warnings: string[] = [];
  const pipe = await startPipeline({
    databaseUrl: cfg.databaseUrl,
    redisUrl: cfg.redisUrl,
    prefix: cfg.queuePrefix,
    backend: cfg.queueBackend,
    migrate: true,
    // A killed worker's jobs come back when their lock expires: 4 s keeps the demo moving.
    env: { GP_LOCK_MS: '4000', GP_LOG_LEVEL: 'warn' },
    onLog: (source, line) => warnings.push(`${source}: ${line}`),
  });
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: 2 });
  const dir = mkdtempSync(join(tmpdir(), 'gp-demo-'));
  const t0 = performance.now();
  const secs = () => ((performance.now() - t0) / 1000).toFixed(1).padStart(5);
  let recoveries = 0;
  let workerState = 'up';
  /** A line between progress redraws: on a terminal, the progress line is cleared first. */
  let drawn = 0;
  const say = (s: string) => {
    if (json) return;
    if (tty && drawn) process.stdout.write(`\r${' '.repeat(drawn)}\r`);
    drawn = 0;
    console.log(`${secs()}s  ${s}`);
  };
  try {
    for (const g of GAMES) out(`  ${g.padEnd(9)} ${perGame} sessions, ${SURFACE[g]}`);
    out('');
    const results = new Map<Game, PlayResult>();
    const plays = GAMES.map((game, i) =>
      playGame(pipe, {
        game,
        run,
        sessions: perGame,
        seed: seed + i,
        scale: 'demo',
        paceMs: PACE_MS[game],
        // Somewhere in the first half of the game's events.
        crash: 40 + Math.floor(Math.random() * 200),
        dir: join(dir, game),
        onRestart: () => {
          recoveries++;
          say(`${c(33, game)} game server killed (SIGKILL) mid-game; restarting it: it waits for what it emitted, recovers its sessions and plays on`);
        },
      }).then((r) => {
        results.set(game, r);
        say(`${c(32, game)} finished: ${r.ledger.length} events accepted in ${(r.ms / 1000).toFixed(1)} s`);
      }),
    );
    const all = Promise.all(plays);

    // The worker crash, while the games keep playing (producers do not need a worker to accept events).
    let settled = false;
    const pause = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
    const killer = (async () => {
      await pause(WORKER_KILL_AT_S);
      if (settled) return;
      await pipe.killWorker();
      workerState = 'down';
      say(`${c(31, 'worker')} killed (SIGKILL) with jobs in hand; the games keep playing, their events wait in the queue`);
      await pause(WORKER_DOWN_S);
      if (settled) return;
      await pipe.startWorker();
      workerState = 'up';
      recoveries++;
      say(`${c(32, 'worker')} started again: it takes the dead worker's jobs back when their locks expire and stores each event once`);
    })();
    // Awaited below when the games succeed; when one fails, its error is the one reported.
    killer.catch(() => {});

    // Progress: redrawn in place on a terminal, a plain line every 3 s otherwise.
    let last: { t: number; stored: number } | null = null;
    let rate = 0;
    const tick = async (): Promise<Tick> => {
      const s = await runProgress(pipe.reader, like);
      const accepted = GAMES.reduce((n, g) => n + ledgerLength(join(dir, g, 'ledger.jsonl')), 0);
      const now = performance.now();
      const stored = Number(s.stored);
      if (last && now - last.t > 0) rate = 0.6 * rate + (0.4 * (stored - last.stored) * 1000) / (now - last.t);
      last = { t: now, stored };
      return { accepted, stored, live: s.live, finished: s.finished };
    };
    const line = (t: Tick) =>
      `events ${t.accepted} accepted, ${t.stored} stored · ${Math.round(rate)}/s · lag ${Math.max(0, t.accepted - t.stored)} · sessions ${t.live} live, ${t.finished} finished · recoveries ${recoveries} · worker ${workerState}`;
    let ticks = 0;
    let done = false;
    // Settled either way: a game that failed stops the progress loop and is reported by `await all`.
    void all.then(
      () => (done = true),
      () => (done = true),
    );
    while (!done) {
      await new Promise((r) => setTimeout(r, 250));
      const t = await tick();
      if (json) continue;
      if (tty) {
        const text = `${secs()}s  ${line(t)}`.slice(0, (process.stdout.columns ?? 120) - 1);
        process.stdout.write(`\r${text.padEnd(drawn)}`);
        drawn = text.length;
      } else if (++ticks % 12 === 0) say(line(t));
    }
    try {
      await all;
    } finally {
      // A failed game ends the run: the worker is not restarted under a pipeline being stopped.
      settled = true;
    }
    await killer;

    // Drained: every accepted event stored (the worker may still hold the last batch).
    const ledger: LedgerEvent[] = GAMES.flatMap((g) => results.get(g)!.ledger);
    let report: LedgerReport;
    for (const until = performance.now() + 60_000; ; ) {
      report = await checkLedger(pipe.reader, ledger, run);
      if ((!report.lost.length && !report.duplicatedSeqs.length) || performance.now() > until) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    say(line(await tick()));
    const ms = Math.round(performance.now() - t0);

    // Ratings are the worker's minute job; rate what just finished so the summary shows them.
    await rateFinishedSessions(orm, 0);
    const drift = await verifyAggregates(orm, { timeZone: cfg.statsTimeZone, winRateMinGames: cfg.winRateMinGames });
    const snaps = await verifySnapshots(orm);
    const sessionRows = await runSessions(pipe.reader, like);
    const impostorPlayer = results.get('impostor')!.ledger.find((e) => e.type === 'player.joined')?.player ?? null;
    const answers = {
      stats: impostorPlayer ? await impostorAnswer(pipe, run, ['stats', impostorPlayer]) : '',
      leaderboard: await impostorAnswer(pipe, run, ['leaderboard', `${run}-impostor-0`]),
      global: await impostorAnswer(pipe, run, ['global']),
    };
    const ok = report.lost.length === 0 && report.duplicated.length === 0 && report.duplicatedSeqs.length === 0 && report.deadLettered === 0 && drift.drift.length === 0 && snaps.mismatches.length === 0;
    const summary = {
      run,
      seed,
      ms,
      ok,
      backend: cfg.queueBackend,
      games: GAMES.map((g) => {
        const r = results.get(g)!;
        // Session ids are `${run}-<game>-<i>` (examples/README.md).
        const rows = sessionRows.filter((x) => x.id.startsWith(`${run}-${g}-`));
        const sum = (f: (x: (typeof rows)[number]) => number) => rows.reduce((n, x) => n + f(x), 0);
        return {
          game: g, sessions: rows.length, finished: rows.filter((x) => x.status === 'finished').length, accepted: r.ledger.length,
          stored: sum((x) => x.events), snapshots: sum((x) => x.snapshots), documents: sum((x) => x.documents), restarts: r.restarts,
          results: rows.map((x) => ({ id: x.id, status: x.status, result: x.result })),
        };
      }),
      ledger: { emitted: report!.emitted, persisted: report!.persisted, lost: report!.lost.length, duplicated: report!.duplicated.length, duplicatedSeqs: report!.duplicatedSeqs.length, unexpected: report!.unexpected, deadLettered: report!.deadLettered },
      aggregateDrift: drift.drift.length,
      snapshots: { checked: snaps.checked, failed: snaps.mismatches.length },
      recoveries,
      answers,
    };
    if (json) {
      console.log(JSON.stringify(summary));
      return ok ? 0 : 1;
    }
    out(`\n${c(1, 'What each game persisted')} (run ${run}, ${(ms / 1000).toFixed(1)} s)`);
    const col = (v: unknown, w: number) => String(v).padStart(w);
    out(`  ${'game'.padEnd(10)} ${'surface'.padEnd(26)} ${'sessions'.padStart(8)} ${'events'.padStart(7)} ${'snapshots'.padStart(9)} ${'documents'.padStart(9)} ${'restarts'.padStart(8)}`);
    for (const g of summary.games)
      out(`  ${g.game.padEnd(10)} ${SURFACE[g.game as Game].padEnd(26)} ${col(g.sessions, 8)} ${col(g.stored, 7)} ${col(g.snapshots, 9)} ${col(g.documents, 9)} ${col(g.restarts, 8)}`);
    out(`\n${c(1, 'How each session ended')} (its session.finished, as stored)`);
    for (const g of summary.games)
      for (const x of g.results) out(`  ${printable(x.id.slice(run.length + 1)).padEnd(14)} ${x.result ? printable(x.result) : x.status === 'finished' ? 'finished' : `${x.status}: a persistent world, never ended`}`);
    out(`\n${c(1, 'The Impostor bot answers')} (seed 000's own commands, read back through the HTTP API):`);
    // The bot's replies are multi-line chat messages; each line is printed with its control characters escaped.
    const reply = (command: string, text: string) => {
      out(`\n${c(36, printable(command))}`);
      for (const l of text.split('\n')) out(`  ${printable(l)}`);
    };
    if (impostorPlayer) reply(`/stats ${impostorPlayer}`, answers.stats);
    reply(`/leaderboard ${run}-impostor-0`, answers.leaderboard);
    reply('/global', answers.global);
    const verdict = ok ? c(32, '✔ verified') : c(31, '✘ NOT verified');
    out(
      `\n${verdict}: emitted ${report!.emitted} = persisted ${report!.persisted} (lost ${report!.lost.length}, duplicated ${report!.duplicated.length + report!.duplicatedSeqs.length}, dead-lettered ${report!.deadLettered}) · aggregate drift ${drift.drift.length} · snapshots ${snaps.checked - snaps.mismatches.length}/${snaps.checked} verified · ${recoveries} recoveries`,
    );
    if (!ok) for (const w of warnings.slice(-10)) console.error(w);
    out(`\n${c(1, 'Where to look next')}`);
    out('  HTTP API   npm run gp -- serve, then docs/http.md (curl examples); the Python client in clients/python');
    out(`  CLI        npm run gp -- sessions recent · npm run gp -- leaderboard --by wins · npm run gp -- sessions replay ${run}-hokm-0`);
    out('  the games  examples/README.md (each game server, and how it recovers after a crash)');
    out('  Grafana    docker compose --profile monitoring up -d, then http://127.0.0.1:3000 (README, "Operating")');
    return ok ? 0 : 1;
  } finally {
    if (tty && drawn) process.stdout.write('\n');
    await orm.close();
    await pipe.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
