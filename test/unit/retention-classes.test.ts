/**
 * Retention's classes (src/db/retention.ts) against what the aggregates are recomputed from: every
 * event family is kept or in exactly one class, and no statement of verify, rebuild or the ratings
 * reads a table retention deletes from (else retention would make verify report drift, or rebuild lose
 * finished sessions' statistics).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { FAMILIES } from '../../src/contract/events.ts';
import { KEPT_FAMILIES, RETENTION_CLASSES, RETENTION_ENV, RETENTION_FAMILIES, RETENTION_TABLES } from '../../src/db/retention.ts';
import * as aggregatesSql from '../../src/db/sql/aggregates.ts';
import * as ratingsSql from '../../src/db/sql/ratings.ts';
import * as recomputeSql from '../../src/db/sql/recompute.ts';

it('puts every event family in exactly one class or among the kept ones', () => {
  const classed = Object.values(RETENTION_FAMILIES).flat();
  expect(new Set(classed).size).toBe(classed.length);
  expect([...classed, ...KEPT_FAMILIES].sort()).toEqual([...FAMILIES].sort());
  expect(RETENTION_FAMILIES).toEqual({ chat: ['chat'], moves: ['move'], agent_logs: ['agent'], events: ['turn', 'doc', 'custom'] });
  expect(Object.keys(RETENTION_ENV).sort()).toEqual([...RETENTION_CLASSES].sort());
});

it('deletes from no table that verify, rebuild or the ratings read', () => {
  const texts: string[] = [];
  for (const mod of [aggregatesSql, ratingsSql, recomputeSql])
    for (const v of Object.values(mod)) {
      if (typeof v === 'string') texts.push(v);
      else if (Array.isArray(v)) texts.push(...v.filter((x): x is string => typeof x === 'string'));
    }
  // The statements written inline in the aggregates' modules.
  const dir = fileURLToPath(new URL('../../src/aggregates/', import.meta.url));
  for (const f of readdirSync(dir)) texts.push(readFileSync(dir + f, 'utf8'));
  expect(texts.length).toBeGreaterThan(20);
  const tables = Object.values(RETENTION_TABLES).flat();
  // Read as a table, not as a CTE of the same statement (the bucket statements name one `moves`).
  const reads = (t: string) => (s: string) => new RegExp(`\\b(FROM|JOIN|USING)\\s+${t}\\b`, 'i').test(s) && !new RegExp(`\\b${t}\\s+AS\\s+\\(`, 'i').test(s);
  for (const t of tables) expect(texts.filter(reads(t)).length, t).toBe(0);
  // The check can see a table: the kept families' tables are read there.
  expect(texts.some(reads('task_logs'))).toBe(true);
  expect(texts.some(reads('participant_events'))).toBe(true);
});
