/**
 * A finished session is rated seconds after it ends: the batch that stores `session.finished` enqueues
 * a pg-boss ratings run in its own transaction (the minute schedule is only the safety net).
 */
import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/contract/ids.ts';
import { rows, waitFor } from '../../helpers/services.ts';
import { plainQueue, workerFixture } from '../../helpers/worker.ts';

const ctx = workerFixture({ GP_RATING_DELAY_S: '0' });

describe('ratings job', () => {
  it('rates a session within seconds of its end, once', async () => {
    let seq = 0;
    const at = new Date().toISOString();
    const e = (type: string, player?: string, data: Record<string, unknown> = {}) => ({ id: uuidv7(), type, sessionId: 'rj-1', seq: ++seq, at, ...(player ? { player } : {}), data });
    const q = plainQueue(ctx.prefix);
    const t0 = Date.now();
    try {
      await q.add('events', {
        v: 1,
        events: [e('session.created', undefined, { gameType: 'hokm' }), e('player.outcome', 'a', { outcome: 'win' }), e('player.outcome', 'b', { outcome: 'loss' }), e('session.finished')],
      });
    } finally {
      await q.close();
    }
    await waitFor('rated', async () => (await rows(ctx.fx.orm, `select 1 from rated_sessions where session_id = 'rj-1'`)).length === 1, 30_000);
    // Well before the minute schedule's next run could have done it (it fires on the minute).
    expect(Date.now() - t0).toBeLessThan(20_000);
    const [a] = await rows(ctx.fx.orm, `select rated_games, rating from player_stats where player_id = 'a' and scope = 'all'`);
    expect(a).toMatchObject({ rated_games: 1 });
    expect(a!.rating).toBeGreaterThan(0);
  });
});
