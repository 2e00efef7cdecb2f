/**
 * The 4X world: a square map of tiles ("x,y"), empires that own tiles, and the economy. Each turn every
 * empire gives one order; the orders resolve in seat order, then every empire collects its yields. All
 * of it is a function of the state, so a restored state resolves the same way.
 */

export type Action = 'expand' | 'build' | 'research' | 'attack' | 'trade';

export interface Order {
  action: Action;
  /** The tile an expand or attack aims at. */
  target?: string;
}

export interface Empire {
  personality: string;
  food: number;
  production: number;
  gold: number;
  science: number;
  tech: number;
  units: number;
}

export interface World {
  size: number;
  /** Owner of each claimed tile. */
  tiles: Record<string, string>;
  empires: Record<string, Empire>;
}

export const COST = { expand: 5, build: 4, research: 6 } as const;

const key = (x: number, y: number) => `${x},${y}`;
const coords = (tile: string) => tile.split(',').map(Number) as [number, number];

export function startTiles(size: number, n: number): string[] {
  const far = size - 1;
  return [key(0, 0), key(far, far), key(0, far), key(far, 0)].slice(0, n);
}

function neighbours(size: number, tile: string): string[] {
  const [x, y] = coords(tile);
  return [key(x + 1, y), key(x - 1, y), key(x, y + 1), key(x, y - 1)].filter((t) => coords(t).every((c) => c >= 0 && c < size));
}

export const territory = (w: World, player: string) => Object.keys(w.tiles).filter((t) => w.tiles[t] === player).sort();

/** Tiles next to the player's territory: unclaimed ones it can expand to, and enemy ones it can attack. */
export function frontier(w: World, player: string): { free: string[]; enemy: string[] } {
  const near = new Set(territory(w, player).flatMap((t) => neighbours(w.size, t)));
  const tiles = [...near].filter((t) => w.tiles[t] !== player).sort();
  return { free: tiles.filter((t) => !(t in w.tiles)), enemy: tiles.filter((t) => t in w.tiles) };
}

/** The orders an empire can give now. */
export function possible(w: World, player: string): Order[] {
  const e = w.empires[player];
  const { free, enemy } = frontier(w, player);
  const out: Order[] = [{ action: 'trade' }];
  if (e.food >= COST.expand) out.push(...free.map((target) => ({ action: 'expand' as const, target })));
  if (e.production >= COST.build) out.push({ action: 'build' });
  if (e.science >= COST.research) out.push({ action: 'research' });
  if (e.units >= 2) out.push(...enemy.map((target) => ({ action: 'attack' as const, target })));
  return out;
}

/** Applies one order; what happened, for the turn's results. An order no longer possible (the tile was taken first) does nothing. */
export function resolve(w: World, player: string, o: Order): string {
  const e = w.empires[player];
  switch (o.action) {
    case 'expand':
      if (o.target! in w.tiles || e.food < COST.expand) return `expand ${o.target} failed`;
      e.food -= COST.expand;
      w.tiles[o.target!] = player;
      return `expanded to ${o.target}`;
    case 'build':
      if (e.production < COST.build) return 'build failed';
      e.production -= COST.build;
      e.units += 1;
      return `built a unit (${e.units})`;
    case 'research':
      if (e.science < COST.research) return 'research failed';
      e.science -= COST.research;
      e.tech += 1;
      return `reached tech ${e.tech}`;
    case 'trade':
      e.gold += 3;
      e.food += 1;
      return 'traded';
    case 'attack': {
      const defender = w.tiles[o.target!];
      if (!defender || defender === player) return `attack ${o.target} failed`;
      const d = w.empires[defender];
      // Tech multiplies strength; the defender wins ties.
      const won = e.units * (1 + e.tech / 4) > d.units * (1 + d.tech / 4);
      e.units = Math.max(0, e.units - 1);
      if (!won) return `attack on ${o.target} repelled`;
      d.units = Math.max(0, d.units - 1);
      w.tiles[o.target!] = player;
      return `took ${o.target} from ${defender}`;
    }
  }
}

/** Each owned tile yields 2 food, 1 production, 1 gold and 1 science; tech adds science. */
export function collect(w: World): void {
  for (const [player, e] of Object.entries(w.empires)) {
    const n = territory(w, player).length;
    e.food += 2 * n;
    e.production += n;
    e.gold += n;
    e.science += n + e.tech;
  }
}

export const score = (w: World, player: string) => {
  const e = w.empires[player];
  return territory(w, player).length * 10 + e.tech * 5 + e.units * 2 + Math.floor(e.gold / 10);
};
