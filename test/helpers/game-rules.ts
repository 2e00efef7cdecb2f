/** The deterministic game of the crash test: what turn t of room r does to a state. */
export function nextTurn(state: Record<string, unknown>, room: number, t: number) {
  const key = `k${t % 4}`;
  const next = { ...state, turn: t, [key]: (room + 1) * (t + 1), [`gone${(t + 2) % 4}`]: undefined };
  delete next[`gone${(t + 2) % 4}`];
  if (t % 5 === 0) return { state: next, next };
  return { patch: { turn: t, [key]: next[key] }, next };
}

/** The state after `turns` turns without any crash. */
export function finalState(room: number, turns: number): Record<string, unknown> {
  let s: Record<string, unknown> = {};
  for (let t = 0; t < turns; t++) s = nextTurn(s, room, t).next;
  return s;
}
