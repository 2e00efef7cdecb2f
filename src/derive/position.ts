/**
 * An event's position in its session: (seq, id). Sequence numbers order a session's events; two events
 * that share a seq (a producer issued it twice) are ordered by id, as lower-case text, which is how
 * PostgreSQL orders uuids too. Every "first", "latest", "before" of the ordering rule compares these.
 */
export type Pos = readonly [seq: number, id: string];

export function posOf(e: { seq: number | null; id: string }): Pos {
  return [e.seq ?? 0, e.id];
}

/** Negative when a is before b, 0 when equal, positive when after. */
export function cmpPos(a: Pos, b: Pos): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

/** Whether `a` is before `b`; a missing position is after everything. */
export function isBefore(a: Pos | null | undefined, b: Pos | null | undefined): boolean {
  if (!a) return false;
  if (!b) return true;
  return cmpPos(a, b) < 0;
}

/** A position from a stored (seq, id) pair, or null. */
export function storedPos(seq: string | number | null | undefined, id: string | null | undefined): Pos | null {
  return seq === null || seq === undefined || id === null || id === undefined ? null : [Number(seq), id];
}

/** The smallest and the largest uuid: (s, NIL) is before every event of seq s, (s, MAX) after all of them. */
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';
export const MAX_UUID = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
