/**
 * Metrics of the HTTP API (`GET /metrics` on the API's port): requests and their latency by route
 * template, method and status class, events by verdict, key lookups and failed authentications. Labels are route templates such as
 * `/v1/sessions/:id/recover`, never the ids in the URL.
 */
import client from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { METRIC } from '../metrics/metrics.ts';

export type ApiMetrics = ReturnType<typeof apiMetrics>;

export function apiMetrics(app: FastifyInstance, version: string) {
  const registry = new client.Registry();
  const requests = new client.Counter({ name: METRIC.httpRequests, help: 'HTTP API requests by route, method and status', labelNames: ['route', 'method', 'status'], registers: [registry] });
  const seconds = new client.Histogram({
    name: METRIC.httpSeconds,
    help: 'HTTP API request latency by route and method',
    labelNames: ['route', 'method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const events = new client.Counter({ name: METRIC.httpEvents, help: 'Events posted to the HTTP API by verdict (accepted, rejected)', labelNames: ['verdict'], registers: [registry] });
  const keyLookups = new client.Counter({ name: METRIC.httpKeyLookups, help: 'API key reads from PostgreSQL (api_keys; a key not in the 5-second cache)', registers: [registry] });
  const authFailures = new client.Counter({ name: METRIC.httpAuthFailures, help: 'Requests refused 401: no key, or a key malformed, unknown, wrong or revoked', registers: [registry] });
  const authThrottled = new client.Counter({ name: METRIC.httpAuthThrottled, help: 'Requests refused 429 without a key lookup: their address failed authentication too often', registers: [registry] });
  new client.Gauge({ name: METRIC.buildInfo, help: 'game-persist version', labelNames: ['version', 'process'], registers: [registry] }).set({ version, process: 'api' }, 1);
  client.collectDefaultMetrics({ register: registry, prefix: 'gp_api_' });

  app.addHook('onResponse', async (req, reply) => {
    // Unmatched URLs share one label: a scanner's random paths must not grow the series.
    const route = req.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    seconds.observe({ route, method: req.method }, reply.elapsedTime / 1000);
  });
  return {
    registry,
    keyLookup: () => keyLookups.inc(),
    authFailed: () => authFailures.inc(),
    authThrottled: () => authThrottled.inc(),
    events: (accepted: number, rejected: number) => {
      if (accepted) events.inc({ verdict: 'accepted' }, accepted);
      if (rejected) events.inc({ verdict: 'rejected' }, rejected);
    },
  };
}
