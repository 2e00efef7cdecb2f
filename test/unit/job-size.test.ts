/** The size check in front of the parse (src/queue/job-size.ts); BullMQ's Job path is tested against Redis in test/integration/worker/job-size.test.ts. */
import { describe, expect, it } from 'vitest';
import { OVERSIZE_HEAD_CHARS, boundedJsonbTypes, isOversizeJob, oversizeJob } from '../../src/queue/job-size.ts';

describe('job size before parse', () => {
  it('measures the UTF-8 bytes of the text, exactly at the limit', () => {
    const ascii = JSON.stringify({ s: 'a'.repeat(1000) });
    expect(oversizeJob(ascii, ascii.length)).toBeNull();
    expect(oversizeJob(ascii, ascii.length - 1)).toMatchObject({ bytes: ascii.length, limit: ascii.length - 1 });
    // 'é' is one UTF-16 unit and two UTF-8 bytes: counted as two.
    const accented = JSON.stringify({ s: 'é'.repeat(600) });
    expect(oversizeJob(accented, accented.length + 100)).toMatchObject({ bytes: Buffer.byteLength(accented) });
    const m = oversizeJob('x'.repeat(OVERSIZE_HEAD_CHARS * 3), 10)!;
    expect(m.head).toHaveLength(OVERSIZE_HEAD_CHARS);
    expect(isOversizeJob(m)).toBe(true);
    expect(isOversizeJob({ v: 1, events: [] })).toBe(false);
  });

  it('parses json/jsonb columns as node-postgres does, oversize ones into the marker', () => {
    const parse = boundedJsonbTypes(50).getTypeParser(3802, 'text') as (t: string) => unknown;
    expect(parse('{"a": [1, 2]}')).toEqual({ a: [1, 2] });
    expect(isOversizeJob(parse(JSON.stringify({ a: 'b'.repeat(100) })))).toBe(true);
    expect((boundedJsonbTypes(50).getTypeParser(20, 'text') as (t: string) => unknown)('12')).toBe('12'); // int8 stays pg's text
  });
});
