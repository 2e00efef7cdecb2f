/**
 * Sequence counters in Redis: one key per session, `{prefix}:seq:{sessionId}`, drawn by one Lua script
 * per round (the rule is ./sequences.ts's: raise to the floor, then add).
 */
import type { Redis } from 'ioredis';
import { sequenceKey } from '../contract/limits.ts';
import type { Gate } from './gate.ts';
import { SEQUENCE_KEY_TTL_SECONDS, type Draw, type SequenceCounters } from './sequences.ts';

/**
 * One round trip for every session of a round. KEYS: the counters. ARGV[1]: TTL seconds; then per key
 * its count and its floor. A counter missing or below its floor is set to the floor, then INCRBY count
 * (count 0 only raises it). Reply per key: the new value, and the value found before (-1: missing).
 */
const DRAW_SEQ_LUA = `
local out = {}
for i, key in ipairs(KEYS) do
  local floor = tonumber(ARGV[2 * i + 1])
  local found = tonumber(redis.call('GET', key) or '-1') or -1
  if found < floor then redis.call('SET', key, floor) end
  out[2 * i - 1] = redis.call('INCRBY', key, ARGV[2 * i])
  out[2 * i] = found
  redis.call('EXPIRE', key, ARGV[1])
end
return out`;
const DRAW_SEQ_COMMAND = 'gpDrawSeq';

interface DrawClient {
  gpDrawSeq(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
}

export class RedisCounters implements SequenceCounters {
  readonly #redis: DrawClient & Redis;
  readonly #gate: Gate;
  readonly #prefix: string;

  constructor(redis: Redis, gate: Gate, prefix: string) {
    if (!(DRAW_SEQ_COMMAND in redis)) redis.defineCommand(DRAW_SEQ_COMMAND, { lua: DRAW_SEQ_LUA });
    this.#redis = redis as DrawClient & Redis;
    this.#gate = gate;
    this.#prefix = prefix;
  }

  async draw(draws: Draw[]): Promise<{ last: number; found: number }[]> {
    const args: (string | number)[] = draws.map((d) => sequenceKey(this.#prefix, d.sessionId));
    args.push(SEQUENCE_KEY_TTL_SECONDS);
    for (const d of draws) args.push(d.count, d.floor);
    const reply = await this.#gate.run(() => this.#redis.gpDrawSeq(draws.length, ...args));
    return draws.map((_, i) => ({ last: Number(reply[2 * i]), found: Number(reply[2 * i + 1]) }));
  }

  async read(sessionId: string): Promise<number | null> {
    const v = await this.#gate.run(() => this.#redis.get(sequenceKey(this.#prefix, sessionId)));
    return v === null ? null : Number(v);
  }
}
