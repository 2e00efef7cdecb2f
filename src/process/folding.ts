/**
 * Folds pending stat deltas into player_stats every GP_STATS_FOLD_MS (every replica does; folds take
 * disjoint deltas), and once more when stopping so a drained worker leaves none of its own behind.
 */
import type { Config } from '../config.ts';
import type { MikroORM } from '../db/orm.ts';
import type { Logger } from '../log.ts';
import { foldStatDeltas } from '../aggregates/write.ts';
import { describeDbError } from '../workers/db-errors.ts';

export function startFolding(orm: MikroORM, cfg: Readonly<Config>, log: Logger): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const fold = () =>
    (running ??= foldStatDeltas(orm, cfg.winRateMinGames, { timeZone: cfg.statsTimeZone })
      .then(() => undefined)
      .catch((e) => log.warn({ err: describeDbError(e) }, 'folding stat deltas failed; retrying next tick'))
      .finally(() => (running = null)));
  const timer = setInterval(() => void fold(), cfg.statsFoldMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await fold();
    },
  };
}
