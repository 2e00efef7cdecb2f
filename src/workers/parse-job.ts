/**
 * Turns a job's data into validated events and dead letters. A job carries `{ v: 1, events: [...] }`
 * (what the SDK sends) or one bare event (handy for other languages), and may carry an `issued` list
 * (src/contract/issued.ts). Anything the contract refuses becomes a dead letter naming the field; the
 * valid events and marks beside it go on.
 */
import { isPlainObject } from '../contract/fields.ts';
import type { CustomTypeCheck } from '../contract/custom-check.ts';
import { parseIssued, type IssuedMark } from '../contract/issued.ts';
import { MAX_EVENTS_PER_JOB, MAX_JOB_EVENT_BYTES, type Limits } from '../contract/limits.ts';
import { validateEvent, type CheckedEvent } from '../contract/validate.ts';
import type { DeadLetterRow } from '../db/sql/dead-letters.ts';
import { ContractError } from '../errors.ts';
import { deadLetterForPayload } from './write-batch.ts';
import { isOversizeJob } from '../queue/job-size.ts';


export interface ParsedJob {
  events: CheckedEvent[];
  deadLetters: DeadLetterRow[];
  /** The job's issued-seq report (empty for an ordinary events job). */
  issued: IssuedMark[];
}

export function parseJob(data: unknown, limits: Limits, queue: string, jobId: string | null, customTypes?: CustomTypeCheck): ParsedJob {
  const out: ParsedJob = { events: [], deadLetters: [], issued: [] };
  const dead = (payload: unknown, code: string, reason: string, field: string | null) => {
    const p = isPlainObject(payload) ? payload : {};
    out.deadLetters.push(deadLetterForPayload(payload, { code, reason, field, queue, jobId, eventId: p.id, sessionId: p.sessionId, type: p.type }));
  };
  if (isOversizeJob(data)) {
    // Never parsed (src/queue/job-size.ts): one dead letter for the whole job, with the head of its text.
    out.deadLetters.push(
      deadLetterForPayload(null, {
        code: 'job_too_large', field: null, queue, jobId, rawText: data.head,
        reason: `job data is ${data.bytes} bytes of JSON, over GP_MAX_JOB_BYTES (${data.limit}); not parsed, its first ${data.head.length} characters kept`,
      }),
    );
    return out;
  }
  if (!isPlainObject(data)) {
    dead(data, 'malformed_job', 'job data must be {"v":1,"events":[...]} or one event object', null);
    return out;
  }
  let raw: unknown[];
  if ('events' in data) {
    if (data.v !== undefined && data.v !== 1) {
      dead(data, 'unsupported_version', `job contract version ${describeVersion(data.v)} is not supported (v1 worker)`, 'v');
      return out;
    }
    if (!Array.isArray(data.events)) {
      dead(data, 'malformed_job', 'job field "events" must be an array', 'events');
      return out;
    }
    raw = data.events;
    if (data.issued !== undefined) {
      const { marks, problems } = parseIssued(data.issued);
      out.issued = marks;
      for (const p of problems) {
        const entry = isPlainObject(p.entry) ? p.entry : {};
        out.deadLetters.push(
          deadLetterForPayload(p.entry, { code: 'malformed_job', reason: `${p.field} ${p.reason}`, field: p.field, queue, jobId, sessionId: entry.sessionId }),
        );
      }
    }
  } else raw = [data];

  let bytes = 0;
  for (let i = 0; i < raw.length; i++) {
    const ev = raw[i];
    if (i >= MAX_EVENTS_PER_JOB || bytes > MAX_JOB_EVENT_BYTES) {
      dead(ev, 'job_too_large', `job carries more than ${MAX_EVENTS_PER_JOB} events or ${MAX_JOB_EVENT_BYTES} bytes; replay re-sends this one alone`, null);
      continue;
    }
    try {
      const checked = validateEvent(ev, { limits, customTypes });
      bytes += checked.bytes;
      out.events.push(checked);
    } catch (e) {
      if (!(e instanceof ContractError)) throw e;
      dead(ev, e.code, e.message, e.field);
    }
  }
  return out;
}

/** A job's `v` for a reason: any JSON value, so never stringified whole (it may be huge or deeply nested). */
function describeVersion(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (typeof v === 'string') return JSON.stringify(v.slice(0, 40)) + (v.length > 40 ? '…' : '');
  return Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v;
}
