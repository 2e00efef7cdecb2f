/**
 * The statements that claim rows with FOR UPDATE SKIP LOCKED and then write them must run their
 * locking subquery once, whatever the planner believes about the table. A queue table such as
 * stat_deltas, vacuumed while empty, has reltuples 0; after a crash nothing re-analyzes it soon. With
 * `id IN (SELECT … FOR UPDATE SKIP LOCKED)` the planner then chose a nested-loop semi join that reran
 * the locking subquery once per row (LockRows with thousands of loops): folding ~5,000 deltas took
 * 15-24 s after the chaos pg-restart scenario, and the workers missed their drain deadline.
 *
 * Each case seeds rows, tells the planner the table is empty (pg_class as such a vacuum leaves it:
 * pages, no tuples; inside the test's transaction, rolled back) and reads the executed plan: every LockRows node ran once
 * and the statement claimed every row.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FOLD_STAT_DELTAS_SQL, INSERT_STAT_DELTAS_SQL } from '../../../src/db/sql/aggregates.ts';
import { ABANDON_IDLE_SQL } from '../../../src/db/sql/cleanup.ts';
import { DUE_INTERVAL_SQL } from '../../../src/db/sql/snapshots.ts';
import { cloneDatabase } from '../../helpers/services.ts';

/** Rows seeded: as many as DUE_INTERVAL_SQL claims at once (the smallest LIMIT of the three). */
const ROWS = 1000;

interface PlanNode {
  'Node Type': string;
  'Actual Loops': number;
  'Actual Rows': number;
  Plans?: PlanNode[];
}

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

describe('claiming statements under stale statistics', () => {
  let db: Awaited<ReturnType<typeof cloneDatabase>>;
  let client: pg.Client;
  beforeAll(async () => {
    db = await cloneDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  /** Seeds, declares `table` empty to the planner, runs `sql` under EXPLAIN ANALYZE, rolls back. */
  async function executedPlan(table: string, seed: () => Promise<unknown>, sql: string, params: unknown[]): Promise<PlanNode> {
    await client.query('BEGIN');
    try {
      await seed();
      // Pages but no tuples: a vacuum of the emptied table that could not truncate it leaves this.
      await client.query(`UPDATE pg_class SET reltuples = 0, relpages = greatest(1, pg_relation_size(oid) / current_setting('block_size')::int) WHERE oid = $1::regclass`, [table]);
      const res = await client.query(`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${sql}`, params);
      return (res.rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan;
    } finally {
      await client.query('ROLLBACK');
    }
  }

  function expectLockedOnce(plan: PlanNode) {
    const locks = nodes(plan).filter((n) => n['Node Type'] === 'LockRows');
    expect(locks.length).toBeGreaterThan(0);
    for (const l of locks) expect({ loops: l['Actual Loops'], rows: l['Actual Rows'] }).toEqual({ loops: 1, rows: ROWS });
  }

  it('folding stat deltas', async () => {
    const deltas = Array.from({ length: ROWS }, (_, i) => ({ player_id: `p${i % 400}`, scopes: ['all'], games: 1, wins: i % 2, losses: 1 - (i % 2), draws: 0, xp: i, tasks: 0, fake_tasks: 0, votes: 0, last_at: '2026-01-01T00:00:00Z' }));
    const plan = await executedPlan('stat_deltas', () => client.query(INSERT_STAT_DELTAS_SQL, [JSON.stringify(deltas)]), FOLD_STAT_DELTAS_SQL, [20_000, 10]);
    expectLockedOnce(plan);
  });

  const idleSessions = () =>
    client.query(
      `INSERT INTO sessions (id, first_event_at, last_event_at, state_seq, updated_at)
       SELECT 's-' || g, now() - interval '1 day', now() - interval '1 day', 1, now() - interval '1 day' FROM generate_series(1, $1::int) g`,
      [ROWS],
    );

  it('abandoning idle sessions', async () => {
    const plan = await executedPlan('sessions', idleSessions, ABANDON_IDLE_SQL, [60, '{}']);
    expectLockedOnce(plan);
  });

  it('scheduling interval snapshots', async () => {
    const plan = await executedPlan('sessions', idleSessions, DUE_INTERVAL_SQL, [60]);
    expectLockedOnce(plan);
  });
});
