/**
 * `migrate --create-db` from many replicas at once (an init container per pod): each must see the
 * database as there, whichever CREATE DATABASE won, never fail on the race (42P04 or 23505).
 */
import pg from 'pg';
import { expect, it } from 'vitest';
import { ensureDatabase } from '../../../src/db/migrate.ts';
import { adminQuery, databaseUrl } from '../../helpers/env.ts';
import { uniqueName } from '../../helpers/services.ts';

it('creates a database once when ten callers race for it', { timeout: 60_000 }, async () => {
  const name = uniqueName('gp_ensure').replace(/\W/g, '_');
  try {
    const created = await Promise.all(Array.from({ length: 10 }, () => ensureDatabase(databaseUrl(name))));
    expect(created.filter(Boolean)).toHaveLength(1);
    expect(await ensureDatabase(databaseUrl(name))).toBe(false);
  } finally {
    await adminQuery(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)}`);
  }
});
