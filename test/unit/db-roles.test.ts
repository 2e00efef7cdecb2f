/**
 * The least-privilege roles' settings and script, without a database: GP_*_ROLE / GP_*_PASSWORD are
 * checked naming the variable, the printed script never holds a password, the applied one only SCRAM
 * verifiers, and the role settings are censored in logs. (test/integration/security/roles.test.ts runs it.)
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { printRolesScript, scramVerifier } from '../../src/db/roles.ts';
import { roleStatements } from '../../src/db/sql/roles.ts';
import { ConfigError } from '../../src/errors.ts';

const roles = { owner: 'gp_owner', worker: 'gp_worker', reader: 'gp_reader', api: 'gp_api', grafana: 'gp_grafana' };

describe('role settings', () => {
  it('default to gp_owner, gp_worker, gp_reader without passwords', () => {
    expect(loadConfig({}).dbRoles).toEqual({
      owner: { name: 'gp_owner', password: null },
      worker: { name: 'gp_worker', password: null },
      reader: { name: 'gp_reader', password: null },
      api: { name: 'gp_api', password: null },
      grafana: { name: 'gp_grafana', password: null },
    });
  });

  it('refuse bad names, equal names and weak passwords, naming the variable', () => {
    for (const [env, variable] of [
      [{ GP_WORKER_ROLE: 'Worker' }, 'GP_WORKER_ROLE'],
      [{ GP_READER_ROLE: 'pg_read_all_data' }, 'GP_READER_ROLE'],
      [{ GP_OWNER_ROLE: 'a"; DROP ROLE x; --' }, 'GP_OWNER_ROLE'],
      [{ GP_READER_ROLE: 'gp_worker' }, 'GP_OWNER_ROLE'],
      [{ GP_OWNER_PASSWORD: 'short' }, 'GP_OWNER_PASSWORD'],
      [{ GP_WORKER_PASSWORD: 'has a space in it' }, 'GP_WORKER_PASSWORD'],
      [{ GP_READER_PASSWORD: 'non-ascii-paßwort-123' }, 'GP_READER_PASSWORD'],
      [{ GP_API_ROLE: 'gp_reader' }, 'GP_OWNER_ROLE'],
      [{ GP_GRAFANA_PASSWORD: 'short' }, 'GP_GRAFANA_PASSWORD'],
    ] as const) {
      let err: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(variable);
    }
  });
});

describe('the roles script', () => {
  it('printed, reads the passwords from psql variables and holds none', () => {
    const text = printRolesScript({ roles, passwords: { owner: 'owner-Secret-1', worker: 'worker-Secret-2', reader: null, api: 'api-Secret-4', grafana: null }, databaseUrl: 'postgres://postgres:su-Secret-3@db/game_persist', pgbossSchema: 'pgboss' });
    for (const p of ['owner-Secret-1', 'worker-Secret-2', 'su-Secret-3', 'api-Secret-4']) expect(text).not.toContain(p);
    for (const k of ['owner', 'worker', 'reader', 'api', 'grafana']) expect(text).toContain(`ALTER ROLE "gp_${k}" PASSWORD :'${k}_password';`);
    expect(text).toMatch(/^BEGIN;$/m);
    expect(text).toMatch(/^COMMIT;$/m);
  });

  it('applied, sets verifiers only, and only for the passwords given', () => {
    const v = scramVerifier('worker-Secret-2');
    const sql = roleStatements({ roles, database: 'game_persist', pgbossSchema: 'pgboss', passwords: { owner: null, worker: v, reader: null, api: null, grafana: null } }).join(';\n');
    expect(sql).toContain(`ALTER ROLE "gp_worker" PASSWORD '${v}'`);
    expect(sql).not.toContain('worker-Secret-2');
    expect(sql).not.toMatch(/ALTER ROLE "gp_(owner|reader|api|grafana)" PASSWORD/);
    // Each role is created only when missing; no statement grants the worker or the reader CREATE.
    expect(sql).toContain(`IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gp_worker') THEN CREATE ROLE "gp_worker"; END IF;`);
    expect(sql).not.toMatch(/GRANT[^;]*CREATE[^;]*TO "gp_(worker|reader|api|grafana)"/);
  });

  it('computes a fresh salt per verifier', () => {
    expect(scramVerifier('same-password-1')).not.toBe(scramVerifier('same-password-1'));
    expect(scramVerifier('same-password-1')).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
  });
});
