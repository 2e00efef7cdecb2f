import { userInfo } from 'node:os';
import type { Config } from '../config.ts';
import { openOrm } from '../db/orm.ts';
import { ConfigError } from '../errors.ts';
import { erasePlayer, erasureKeyMissing } from '../ops/erase-player.ts';
import { commandRedis } from '../redis.ts';
import { queueConnection } from '../queue/backend.ts';
import { UsageError, type Flags } from './args.ts';
import { esc } from './output.ts';

/** `erase-player <id>`: exit 0 erased or nothing left, 1 when jobs are still in flight or the queue part failed. */
export async function runErase(cfg: Readonly<Config>, id: string | undefined, flags: Flags): Promise<number> {
  if (!id) throw new UsageError('erase-player needs a player id');
  if (!cfg.erasureKey) throw new ConfigError('GP_ERASURE_KEY', erasureKeyMissing().message.replace(/^GP_ERASURE_KEY /, ''));
  const orm = await openOrm({ databaseUrl: cfg.databaseUrl, poolMax: 1 });
  const redis = cfg.queueBackend === 'redis' ? commandRedis(cfg.redisUrl) : null;
  try {
    let user = 'unknown';
    try {
      user = userInfo().username;
    } catch {}
    const r = await erasePlayer(orm, id, {
      requestedBy: `cli:${user}`,
      key: cfg.erasureKey,
      queue: { connection: redis ?? queueConnection(cfg), queueName: cfg.queueName, prefix: cfg.queuePrefix },
    });
    if (flags.json) console.log(JSON.stringify(r));
    else {
      console.log(r.changed ? esc`erased player ${id} as ${r.pseudonym} (audit #${r.auditId})` : esc`nothing left to erase for ${id} (audit #${r.auditId})`);
      for (const [k, n] of Object.entries(r.counts)) console.log(esc`  ${k}: ${n}`);
      for (const [k, n] of Object.entries(r.queue.removed)) console.log(esc`  queue ${k} jobs removed: ${n}`);
      if (r.queue.inFlight) console.log(`  ${r.queue.inFlight} job(s) in flight: run erase-player again once they are stored`);
      if (r.queue.error) console.log(esc`  queue not searched: ${r.queue.error}`);
    }
    return r.queue.inFlight || r.queue.error ? 1 : 0;
  } finally {
    redis?.disconnect();
    await orm.close();
  }
}
