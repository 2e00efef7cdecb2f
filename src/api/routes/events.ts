/**
 * POST /v1/events: a batch of events, each with its own verdict, enqueued as the SDK enqueues them.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, ContractError, errorMessage } from '../../errors.ts';
import type { Emitted, Producer } from '../../producers/producer.ts';
import { tenantVerdicts } from '../tenant-ingest.ts';
import { MAX_EVENTS_PER_REQUEST, ingestBody, ingestResponse, errorBody } from '../schemas.ts';
import type { ApiContext } from '../context.ts';

export function eventRoutes(app: FastifyInstance, { cfg, reader, producer, types, store, idempotency, metrics, readiness }: ApiContext): void {
  app.post(
    '/v1/events',
    {
      config: { scope: 'ingest' },
      // After the key check, before the rate limit and the body: a request that comes while the API is
      // still starting waits for the queue's store (GP_API_READY_WAIT_MS) instead of failing.
      onRequest: readiness.gate,
      schema: {
        summary: 'Publish a batch of events',
        consumes: ['application/json', 'application/x-ndjson'],
        description: `At most ${MAX_EVENTS_PER_REQUEST} events, as a JSON array or as NDJSON (one event per line). Each is validated by the v1 contract and enqueued as the SDK does; the response says per event whether it was accepted (its id and seq) or rejected (the field and reason). Send your own ids to make retries safe.`,
        body: ingestBody,
        response: { 200: ingestResponse, '4xx': errorBody, '5xx': errorBody },
      },
    },
    async (req) => {
      const events = req.body as Record<string, any>[];
      const tenant = req.apiKey?.tenant;
      const refused = tenant != null ? await tenantVerdicts(tenant, events, { reader, store, prefix: cfg.queuePrefix }) : null;
      // A game type registered or changed through another replica is checked as registered now.
      if (events.some((e) => typeof e?.type === 'string' && e.type.startsWith('x.'))) {
        try {
          await types.refreshIfChanged();
        } catch (e) {
          // Without the registrations of the moment a game type cannot be checked: retryable, not a 500
          // (and before the Idempotency-Key is claimed, so a retry is not told the request is in progress).
          throw new ApiError(503, 'unavailable', `the registered game types could not be read from PostgreSQL (${errorMessage(e).slice(0, 200)}); retry the request`);
        }
      }
      const idem = await idempotency.begin(req, events.length);
      // A retry of a request already answered: the same ids and seqs, so the queue and the tables see
      // the same events again (deduplicated by id) instead of new numbers that would leave gaps.
      if (idem.previous)
        events.forEach((e, i) => {
          const p = idem.previous![i];
          if (p && e && typeof e === 'object') Object.assign(e, { id: p[0], seq: p[1] });
        });
      let settled: PromiseSettledResult<Emitted>[];
      try {
        settled = await Promise.allSettled(
          events.map((e, i) => {
            const no = refused?.[i];
            return no ? Promise.reject(new ApiError(403, 'forbidden', no.reason, no.field)) : producer.emit(e as Parameters<Producer['emit']>[0], { owned: true });
          }),
        );
        // The queue's store refused or is gone: the whole request is retryable (ids, or an Idempotency-Key, make it safe).
        const failed = settled.find((s) => s.status === 'rejected' && !(s.reason instanceof ContractError) && !(s.reason instanceof ApiError));
        if (failed) throw (failed as PromiseRejectedResult).reason;
      } catch (e) {
        await idem.abort();
        throw e;
      }
      let accepted = 0;
      const results = settled.map((s, index) => {
        if (s.status === 'fulfilled') {
          accepted++;
          return { index, status: 'accepted' as const, id: s.value.id, seq: s.value.seq };
        }
        const e = s.reason as ContractError | ApiError;
        return e instanceof ApiError
          ? { index, status: 'rejected' as const, code: e.code, field: e.field ?? 'event', reason: e.message }
          : { index, status: 'rejected' as const, code: e.code, field: e.field, reason: e.reason };
      });
      await idem.commit(settled.map((s) => (s.status === 'fulfilled' ? [s.value.id, s.value.seq] : null)));
      metrics.events(accepted, events.length - accepted);
      return { accepted, rejected: events.length - accepted, results };
    },
  );
}
