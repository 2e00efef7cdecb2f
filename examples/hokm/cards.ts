/**
 * Hokm's cards: a 52-card deck, `<rank><suit>` (`10H`, `AS`). A trick is won by the highest trump
 * played, else by the highest card of the suit led; a player must follow the suit led when they can.
 */

export const SUITS = ['S', 'H', 'D', 'C'] as const;
const RANKS = ['2', '3', '4', '5', '6', '7', '8', '9', '10', 'J', 'Q', 'K', 'A'];

export const DECK: readonly string[] = SUITS.flatMap((s) => RANKS.map((r) => `${r}${s}`));

export const suitOf = (card: string) => card.slice(-1);
export const rankOf = (card: string) => RANKS.indexOf(card.slice(0, -1));

/** Cards sorted by suit, then rank high to low (how a player holds them). */
export const sortHand = (cards: string[]) => [...cards].sort((a, b) => SUITS.indexOf(suitOf(a) as never) - SUITS.indexOf(suitOf(b) as never) || rankOf(b) - rankOf(a));

/** The index in `played` (in play order) of the card that takes the trick. */
export function trickWinner(played: readonly string[], trump: string): number {
  let best = 0;
  for (let i = 1; i < played.length; i++) {
    const c = played[i];
    const w = played[best];
    const beats = suitOf(c) === suitOf(w) ? rankOf(c) > rankOf(w) : suitOf(c) === trump;
    if (beats) best = i;
  }
  return best;
}

/** The cards of `hand` that may be played on a trick led with `led` (any, when leading or void in its suit). */
export function legalCards(hand: readonly string[], led: string | undefined): string[] {
  if (led === undefined) return [...hand];
  const follow = hand.filter((c) => suitOf(c) === suitOf(led));
  return follow.length ? follow : [...hand];
}

/** The trump a hakem calls from their first five cards: the suit they hold most of, then the stronger. */
export function chooseTrump(five: readonly string[]): string {
  const weight = (s: string) => five.filter((c) => suitOf(c) === s).reduce((n, c) => n + 100 + rankOf(c), 0);
  return [...SUITS].sort((a, b) => weight(b) - weight(a))[0];
}
