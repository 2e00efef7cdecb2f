/**
 * The worker's HTTP endpoints: `/metrics` (Prometheus text format), `/healthz` (the process answers),
 * `/readyz` (Redis and PostgreSQL reachable, Redis not refusing writes for lack of memory, migrations
 * current, not draining: 200, else 503). Nothing else is served.
 *
 * They listen on 0.0.0.0 by default, so nothing a stranger can request may cost the database more than
 * a scraper does, or tell more than "ready or not":
 * - `/metrics` is answered from the last collection while it is younger than `cacheMs`; an older one is
 *   replaced by one new collection that concurrent scrapes share (the gauges run database counts).
 * - `/readyz` answers the check names and whether each passed; why one failed goes to the log
 *   (`onChecks`), never to the client. Concurrent requests share one run of the checks.
 * - With a token (GP_METRICS_TOKEN), `/metrics` and `/readyz` need `Authorization: Bearer <token>`,
 *   compared in constant time; `/healthz` stays open for liveness probes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';

export interface ReadyCheck {
  name: string;
  ok: boolean;
  /** Why it failed: for the log only, never sent to the client. */
  detail?: string;
}

export interface MetricsServerOptions {
  port: number;
  host: string;
  registry: Registry;
  ready: () => Promise<ReadyCheck[]>;
  /** Bearer token required for /metrics and /readyz; null = open. */
  token?: string | null;
  /** How long a collection answers scrapes. @defaultValue 5000 */
  cacheMs?: number;
  /** Every run of the checks, with their details (the caller logs what changed). */
  onChecks?: (checks: ReadyCheck[]) => void;
  /** A failed collection or run of the checks (the client is told only that it failed). */
  onError?: (e: unknown, what: 'metrics' | 'readyz') => void;
  /** Milliseconds on a monotonic clock. @defaultValue performance.now */
  now?: () => number;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time check of `Authorization: Bearer <token>` (both sides hashed: equal lengths). */
export function bearerOk(header: string | string[] | undefined, token: string): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(typeof header === 'string' ? header : '');
  return timingSafeEqual(digest(m ? (m[1] as string) : ''), digest(token)) && !!m;
}

/**
 * A value computed at most once per `ttlMs`, concurrent callers sharing the computation in flight. A
 * failed computation is not kept: the next caller tries again.
 */
export function cached<T>(compute: () => Promise<T>, ttlMs: number, now: () => number = () => performance.now()): () => Promise<T> {
  let last: { value: T; at: number } | null = null;
  let inFlight: Promise<T> | null = null;
  return () => {
    if (last && now() - last.at < ttlMs) return Promise.resolve(last.value);
    inFlight ??= compute().then(
      (value) => ((last = { value, at: now() }), (inFlight = null), value),
      (e: unknown) => {
        inFlight = null;
        throw e;
      },
    );
    return inFlight;
  };
}

/**
 * `onChecks` for a logger: a line when a check starts failing, when its reason changes (at most once per
 * `minGapMs` per check while it keeps failing) and when it passes again. A probe every few seconds
 * against a check failing the same way logs nothing new.
 */
export function logCheckChanges(
  log: Pick<Logger, 'warn' | 'info'>,
  minGapMs = 60_000,
  now: () => number = () => performance.now(),
): (checks: ReadyCheck[]) => void {
  const last = new Map<string, { ok: boolean; detail?: string; at: number }>();
  return (checks) => {
    for (const c of checks) {
      const prev = last.get(c.name);
      if (prev && prev.ok === c.ok && prev.detail === c.detail) continue;
      if (prev && !prev.ok && !c.ok && now() - prev.at < minGapMs) continue;
      last.set(c.name, { ok: c.ok, detail: c.detail, at: now() });
      if (!c.ok) log.warn({ check: c.name, detail: c.detail }, 'readiness check failing');
      else if (prev) log.info({ check: c.name }, 'readiness check passing again');
    }
  };
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const token = opts.token || null;
  const scrape = cached(() => opts.registry.metrics(), opts.cacheMs ?? 5000, opts.now);
  // Not cached (readiness must recover at once), only shared by concurrent requests.
  const ready = cached(async () => {
    const checks = await opts.ready();
    opts.onChecks?.(checks);
    return checks;
  }, 0, opts.now);
  const authorized = (req: IncomingMessage) => token === null || bearerOk(req.headers.authorization, token);

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, type: string, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'text/plain', 'ok\n');
    if ((path === '/metrics' || path === '/readyz') && !authorized(req)) {
      return send(401, 'text/plain', 'a bearer token is required (GP_METRICS_TOKEN)\n', { 'www-authenticate': 'Bearer realm="game-persist"' });
    }
    if (path === '/metrics') {
      scrape().then(
        (text) => send(200, opts.registry.contentType, text),
        (e: unknown) => (opts.onError?.(e, 'metrics'), send(500, 'text/plain', 'metrics collection failed (see the worker log)\n')),
      );
      return;
    }
    if (path === '/readyz') {
      ready().then(
        (checks) => {
          const ok = checks.every((c) => c.ok);
          send(ok ? 200 : 503, 'application/json', `${JSON.stringify({ ready: ok, checks: checks.map((c) => ({ name: c.name, ok: c.ok })) })}\n`);
        },
        (e: unknown) => (opts.onError?.(e, 'readyz'), send(503, 'application/json', `${JSON.stringify({ ready: false, checks: [] })}\n`)),
      );
      return;
    }
    send(404, 'text/plain', 'not found: /metrics, /healthz, /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  return {
    server,
    port: typeof addr === 'object' && addr ? addr.port : opts.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
