/**
 * Issued-seq reports as a job carries them (src/contract/issued.ts, docs/contract.md "Issued-seq
 * reports"): what a worker takes from `issued`, and what it dead-letters with the entry's field while
 * the valid entries and the job's events beside them go on.
 */
import { describe, expect, it } from 'vitest';
import { highestPerSession, parseIssued } from '../../src/contract/issued.ts';
import { uuidv7 } from '../../src/contract/ids.ts';
import { DEFAULT_LIMITS, MAX_ISSUED_PER_JOB } from '../../src/contract/limits.ts';
import { parseJob } from '../../src/workers/parse-job.ts';

describe('issued-seq marks', () => {
  it('reads {sessionId, seq} entries; an integer id is its string form', () => {
    expect(parseIssued([{ sessionId: 'room-1', seq: 7 }, { sessionId: 42, seq: 1 }])).toEqual({
      marks: [
        { sessionId: 'room-1', seq: 7 },
        { sessionId: '42', seq: 1 },
      ],
      problems: [],
    });
  });

  it('names the field of each entry it refuses and keeps the others', () => {
    const { marks, problems } = parseIssued([
      { sessionId: 'ok', seq: 3 },
      'x',
      { sessionId: 'a', seq: 0 },
      { sessionId: 'a', seq: 1.5 },
      { sessionId: 'a', seq: '3' },
      { sessionId: 'nul\u0000', seq: 3 },
      { sessionId: 'a', seq: 3, extra: true },
      { seq: 3 },
    ]);
    expect(marks).toEqual([{ sessionId: 'ok', seq: 3 }]);
    expect(problems.map((p) => p.field)).toEqual(['issued[1]', 'issued[2].seq', 'issued[3].seq', 'issued[4].seq', 'issued[5].sessionId', 'issued[6].extra', 'issued[7].sessionId']);
    expect(parseIssued({ sessionId: 'a', seq: 1 }).problems.map((p) => p.field)).toEqual(['issued']);
  });

  it(`takes at most ${MAX_ISSUED_PER_JOB} entries from one job`, () => {
    const { marks, problems } = parseIssued(Array.from({ length: MAX_ISSUED_PER_JOB + 2 }, (_, i) => ({ sessionId: `s${i}`, seq: 1 })));
    expect(marks.length).toBe(MAX_ISSUED_PER_JOB);
    expect(problems.map((p) => p.field)).toEqual([`issued[${MAX_ISSUED_PER_JOB}]`, `issued[${MAX_ISSUED_PER_JOB + 1}]`]);
  });

  it('keeps one mark per session, the highest, in id order', () => {
    expect(highestPerSession([{ sessionId: 'b', seq: 2 }, { sessionId: 'a', seq: 5 }, { sessionId: 'b', seq: 9 }, { sessionId: 'a', seq: 1 }])).toEqual([
      { sessionId: 'a', seq: 5 },
      { sessionId: 'b', seq: 9 },
    ]);
  });

  it('a job carries its marks beside its events; a bad entry is a malformed_job dead letter naming it', () => {
    const event = { id: uuidv7(), type: 'chat.message', sessionId: 's-1', seq: 2, player: 'p1', at: '2026-01-01T00:00:00Z', data: { text: 'hi' } };
    const parsed = parseJob({ v: 1, events: [event], issued: [{ sessionId: 's-1', seq: 4 }, { sessionId: 's-2', seq: -1 }] }, DEFAULT_LIMITS, 'events', 'job-1');
    expect(parsed.events.map((e) => e.id)).toEqual([event.id]);
    expect(parsed.issued).toEqual([{ sessionId: 's-1', seq: 4 }]);
    expect(parsed.deadLetters.map((d) => ({ code: d.reason_code, field: d.field, session: d.session_id, reason: d.reason }))).toEqual([
      { code: 'malformed_job', field: 'issued[1].seq', session: 's-2', reason: 'issued[1].seq must be an integer >= 1' },
    ]);
    // An events job without a report carries none.
    expect(parseJob({ v: 1, events: [event] }, DEFAULT_LIMITS, 'events', 'job-2').issued).toEqual([]);
  });
});
