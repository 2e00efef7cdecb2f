/**
 * `game-persist board [--write]`: Bull Board, the operator UI for the events queue, as an opt-in
 * command. Behind HTTP basic auth (GP_BOARD_USER / GP_BOARD_PASSWORD; it refuses to start without a
 * password), on loopback by default (GP_BOARD_HOST, GP_BOARD_PORT), and read-only unless `--write`:
 * then retrying and removing jobs is allowed, nothing else. Bull Board's other mutating routes (edit a
 * job's data, delay or priority, promote, add, clean or empty a queue, pause/resume, concurrency and
 * rate limits, job schedulers, obliterate) are never registered, so no path reaches them: 403.
 * Bull Board 9.10 shows queues of BullMQ's PostgreSQL backend too (GP_QUEUE_BACKEND=postgres: its
 * datastore panel then shows PostgreSQL's version, uptime and connections instead of Redis's).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import express from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { workerRedis } from '../redis.ts';
import { openQueue } from '../queue/backend.ts';
import type { Flags } from './args.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The mutating Bull Board routes `--write` allows, by method and route template: retry one job, retry
 * every failed (or completed) job, remove one job. Everything else that is not a GET stays unregistered.
 */
export const WRITE_ROUTES: readonly string[] = [
  'put /api/queues/:queueName/:jobId/retry',
  'put /api/queues/:queueName/retry/:queueStatus',
  'put /api/queues/:queueName/:jobId/clean',
];

type Route = Parameters<ExpressAdapter['setApiRoutes']>[0][number];

/** Read routes, and of the mutating ones only WRITE_ROUTES (a route answering several methods must allow each). */
export function allowedRoute(r: Route): boolean {
  const methods = Array.isArray(r.method) ? r.method : [r.method];
  const paths = Array.isArray(r.route) ? r.route : [r.route];
  return methods.every((m) => m === 'get' || paths.every((p) => WRITE_ROUTES.includes(`${m} ${p}`)));
}

/** Bull Board's Express adapter without the routes `allowedRoute` refuses. */
class RetryRemoveAdapter extends ExpressAdapter {
  override setApiRoutes(routes: Route[]): ExpressAdapter {
    return super.setApiRoutes(routes.filter(allowedRoute));
  }
}

/** Constant-time check of a Basic authorization header. */
export function basicAuthOk(header: string | undefined, user: string, password: string): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1] as string, 'base64').toString('utf8');
  return timingSafeEqual(digest(given), digest(`${user}:${password}`));
}

export async function runBoard(cfg: Readonly<Config>, flags: Flags): Promise<number> {
  if (!cfg.boardPassword) throw new ConfigError('GP_BOARD_PASSWORD', 'is required for `board` (at least 12 characters; the UI shows queued game data)');
  const password = cfg.boardPassword;
  const writable = flags.write === true;
  const redis = cfg.queueBackend === 'redis' ? workerRedis(cfg.redisUrl) : null;
  const queue = openQueue({ connection: redis ?? cfg.databaseUrl, prefix: cfg.queuePrefix, queueName: cfg.queueName }, {}, { max: 2, applicationName: 'game-persist:board' });
  const serverAdapter = new RetryRemoveAdapter();
  serverAdapter.setBasePath('/');
  createBullBoard({
    // The adapter's type names the Redis Queue; at run time it takes either backend's (it asks the
    // queue for its backend).
    queues: [new BullMQAdapter(queue as unknown as ConstructorParameters<typeof BullMQAdapter>[0], { readOnlyMode: !writable, allowRetries: writable, description: `${cfg.queuePrefix}:${cfg.queueName}` })],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'game-persist' } },
  });
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    if (!basicAuthOk(req.headers.authorization, cfg.boardUser, password)) {
      res.set('WWW-Authenticate', 'Basic realm="game-persist board", charset="UTF-8"').status(401).send('authentication required\n');
      return;
    }
    if (!writable && !['GET', 'HEAD'].includes(req.method)) {
      res.status(403).send('read-only: start the board with --write to change jobs\n');
      return;
    }
    next();
  });
  app.use('/', serverAdapter.getRouter());
  // A change Bull Board has no route for here (see WRITE_ROUTES), however its path is spelled.
  app.use((req, res) => {
    if (['GET', 'HEAD'].includes(req.method)) res.status(404).send('not found\n');
    else res.status(403).send('only retrying and removing jobs is allowed, even with --write\n');
  });
  const server = await new Promise<import('node:http').Server>((resolve, reject) => {
    const s = app.listen(cfg.boardPort, cfg.boardHost, () => resolve(s));
    s.once('error', reject);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.boardPort;
  console.log(`board listening on http://${cfg.boardHost}:${port}/ (${writable ? 'read-write' : 'read-only'}, user ${cfg.boardUser})`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await queue.close();
  await redis?.quit().catch(() => redis.disconnect());
  return 0;
}
