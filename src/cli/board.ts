/**
 * `game-persist board [--write]`: Bull Board, the operator UI for the events queue, as an opt-in
 * command. Behind HTTP basic auth (GP_BOARD_USER / GP_BOARD_PASSWORD; it refuses to start without a
 * password), on loopback by default (GP_BOARD_HOST, GP_BOARD_PORT), and read-only unless `--write`:
 * then retrying and removing jobs is allowed, nothing else. Bull Board's other mutating routes (edit a
 * job's data, delay or priority, promote, add, clean or empty a queue, pause/resume, concurrency and
 * rate limits, job schedulers, obliterate) are never registered, so no path reaches them: 403.
 * Bull Board 9.10 shows queues of BullMQ's PostgreSQL backend too (GP_QUEUE_BACKEND=postgres: its
 * datastore panel then shows PostgreSQL's version, uptime and connections instead of Redis's).
 * It is served by Fastify (Bull Board's Fastify adapter), the HTTP stack of `serve`: one stack to keep
 * patched.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
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

type Route = Parameters<FastifyAdapter['setApiRoutes']>[0][number];

/** Read routes, and of the mutating ones only WRITE_ROUTES (a route answering several methods must allow each). */
export function allowedRoute(r: Route): boolean {
  const methods = Array.isArray(r.method) ? r.method : [r.method];
  const paths = Array.isArray(r.route) ? r.route : [r.route];
  return methods.every((m) => m === 'get' || paths.every((p) => WRITE_ROUTES.includes(`${m} ${p}`)));
}

/** Bull Board's Fastify adapter without the routes `allowedRoute` refuses. */
class RetryRemoveAdapter extends FastifyAdapter {
  override setApiRoutes(routes: Route[]): FastifyAdapter {
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
  const app = Fastify({ logger: false });
  // Bull Board's UI sends bodiless PUTs (retry, remove); a client that labels one application/json
  // must not get Fastify's 400 for an empty JSON body. Other bodies go through Fastify's own parser
  // (prototype-poisoning checks included).
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => (body === '' ? done(null, undefined) : json(req, body as string, done)));
  // onRequest runs first for every request, unknown paths included: without the credentials nothing
  // answers but 401, not even a 404.
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!basicAuthOk(req.headers.authorization, cfg.boardUser, password))
      return reply.code(401).header('WWW-Authenticate', 'Basic realm="game-persist board", charset="UTF-8"').type('text/plain').send('authentication required\n');
    if (!writable && !['GET', 'HEAD'].includes(req.method)) return reply.code(403).type('text/plain').send('read-only: start the board with --write to change jobs\n');
  });
  await app.register(serverAdapter.registerPlugin());
  // A change Bull Board has no route for here (see WRITE_ROUTES), however its path is spelled.
  app.setNotFoundHandler((req, reply) => {
    if (['GET', 'HEAD'].includes(req.method)) return reply.code(404).type('text/plain').send('not found\n');
    return reply.code(403).type('text/plain').send('only retrying and removing jobs is allowed, even with --write\n');
  });
  await app.listen({ port: cfg.boardPort, host: cfg.boardHost });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : cfg.boardPort;
  console.log(`board listening on http://${cfg.boardHost}:${port}/ (${writable ? 'read-write' : 'read-only'}, user ${cfg.boardUser})`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await app.close();
  await queue.close();
  await redis?.quit().catch(() => redis.disconnect());
  return 0;
}
