/**
 * The worker's HTTP endpoints: `/metrics` (Prometheus text format), `/healthz` (the process answers),
 * `/readyz` (Redis and PostgreSQL reachable, Redis not refusing writes for lack of memory, migrations
 * current, not draining: 200, else 503 with the failing checks and their details as JSON). The checks
 * run on every request, so readiness recovers by itself. Nothing else is served.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface ReadyCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface MetricsServerOptions {
  port: number;
  host: string;
  registry: Registry;
  ready: () => Promise<ReadyCheck[]>;
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'text/plain', 'ok\n');
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => send(200, opts.registry.contentType, text),
        (e: unknown) => send(500, 'text/plain', `metrics failed: ${e instanceof Error ? e.message : String(e)}\n`),
      );
      return;
    }
    if (path === '/readyz') {
      opts.ready().then(
        (checks) => send(checks.every((c) => c.ok) ? 200 : 503, 'application/json', `${JSON.stringify({ ready: checks.every((c) => c.ok), checks })}\n`),
        (e: unknown) => send(503, 'application/json', `${JSON.stringify({ ready: false, error: e instanceof Error ? e.message : String(e) })}\n`),
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
