/**
 * Migrates one template database per test run; every test file clones it (CREATE DATABASE ...
 * TEMPLATE), so migrations run once and files never share data.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openOrm } from '../../src/db/orm.ts';
import { migrateUp } from '../../src/db/migrate.ts';
import { JOBS_SCHEMA } from '../../src/jobs/boss.ts';
import { migrateJobs } from '../../src/jobs/install.ts';
import { ADMIN_DATABASE_URL, databaseUrl } from '../helpers/env.ts';

const template = `gp_tpl_${process.pid}_${Date.now().toString(36)}`;

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function setup(project: TestProject): Promise<void> {
  await admin((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(template)}`));
  const orm = await openOrm({ databaseUrl: databaseUrl(template), poolMax: 1 });
  try {
    await migrateUp(orm);
  } finally {
    await orm.close();
  }
  // pg-boss's schema and our queues, as `game-persist migrate` installs them (workers only check them).
  await migrateJobs(databaseUrl(template), JOBS_SCHEMA);
  project.provide('templateDatabase', template);
}

export async function teardown(): Promise<void> {
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(template)} WITH (FORCE)`));
}
