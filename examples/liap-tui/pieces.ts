/**
 * Liap Tui's pieces and plays. The 32 pieces are those of Chinese chess, red and black, each worth
 * points (red general 14 … black soldier 1). A turn's leader plays 1 to 5 pieces that form a valid
 * play; the others answer with as many pieces, and only an answer of the same kind can win.
 */

const KINDS: readonly [kind: string, red: number, black: number, copies: number][] = [
  ['GENERAL', 14, 13, 1],
  ['ADVISOR', 12, 11, 2],
  ['ELEPHANT', 10, 9, 2],
  ['CHARIOT', 8, 7, 2],
  ['HORSE', 6, 5, 2],
  ['CANNON', 4, 3, 2],
  ['SOLDIER', 2, 1, 5],
];
const COLORS = ['RED', 'BLACK'] as const;
const STRAIGHTS = [['GENERAL', 'ADVISOR', 'ELEPHANT'], ['CHARIOT', 'HORSE', 'CANNON']];

/** A piece is `<KIND>_<COLOR>`, e.g. `CHARIOT_RED`; equal pieces are interchangeable. */
export const DECK: readonly string[] = KINDS.flatMap(([kind, , , copies]) => COLORS.flatMap((c) => Array<string>(copies).fill(`${kind}_${c}`)));

const POINTS = new Map(KINDS.flatMap(([kind, red, black]) => [[`${kind}_RED`, red], [`${kind}_BLACK`, black]] as [string, number][]));

export function points(piece: string): number {
  const p = POINTS.get(piece);
  if (p === undefined) throw new RangeError(`no piece ${piece}`);
  return p;
}

export const value = (pieces: readonly string[]) => pieces.reduce((s, p) => s + points(p), 0);
const kindOf = (p: string) => p.slice(0, p.indexOf('_'));
const colorOf = (p: string) => p.slice(p.indexOf('_') + 1);

export type PlayType = 'SINGLE' | 'PAIR' | 'THREE_OF_A_KIND' | 'STRAIGHT' | 'FOUR_OF_A_KIND' | 'FIVE_OF_A_KIND';
const SOLDIER_GROUPS: Record<number, PlayType> = { 3: 'THREE_OF_A_KIND', 4: 'FOUR_OF_A_KIND', 5: 'FIVE_OF_A_KIND' };

/** The kind of play these pieces form, or null when they form none (a discard). */
export function playType(pieces: readonly string[]): PlayType | null {
  if (pieces.length === 1) return 'SINGLE';
  if (!pieces.every((p) => colorOf(p) === colorOf(pieces[0]))) return null;
  if (pieces.length === 2) return pieces[0] === pieces[1] ? 'PAIR' : null;
  if (pieces.every((p) => kindOf(p) === 'SOLDIER')) return SOLDIER_GROUPS[pieces.length] ?? null;
  const kinds = new Set(pieces.map(kindOf));
  if (pieces.length === 3 && kinds.size === 3 && STRAIGHTS.some((s) => s.every((k) => kinds.has(k)))) return 'STRAIGHT';
  return null;
}

/** Every distinct valid play a hand holds. */
export function validPlays(hand: readonly string[]): string[][] {
  const count = new Map<string, number>();
  for (const p of hand) count.set(p, (count.get(p) ?? 0) + 1);
  const out: string[][] = [];
  for (const [p, n] of count) {
    out.push([p]);
    if (n >= 2) out.push([p, p]);
  }
  for (const c of COLORS) {
    const soldiers = count.get(`SOLDIER_${c}`) ?? 0;
    for (let n = 3; n <= soldiers; n++) out.push(Array<string>(n).fill(`SOLDIER_${c}`));
    for (const s of STRAIGHTS) if (s.every((k) => count.has(`${k}_${c}`))) out.push(s.map((k) => `${k}_${c}`));
  }
  return out;
}

/** A hand with no piece above 9 points may ask for a redeal (which doubles the round's score). */
export const isWeak = (hand: readonly string[]) => hand.every((p) => points(p) <= 9);

/** `hand` without `pieces` (one copy each); null when the hand lacks one of them. */
export function without(hand: readonly string[], pieces: readonly string[]): string[] | null {
  const rest = [...hand];
  for (const p of pieces) {
    const i = rest.indexOf(p);
    if (i < 0) return null;
    rest.splice(i, 1);
  }
  return rest;
}
