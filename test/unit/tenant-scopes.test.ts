/**
 * The tenant model's pure parts: a tenant's scope names (no tenant name can make another tenant's scope
 * or a global one), and the contract's `confined` field of session.created.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { baseScope, isPeriodScope, tenantScope } from '../../src/derive/scopes.ts';
import { validateEvent } from '../../src/contract/validate.ts';
import { uuidv7 } from '../../src/contract/ids.ts';
import { ContractError } from '../../src/errors.ts';

describe('tenant scopes', () => {
  it("name a tenant's copies of the global scopes, the tenant part ending at the first /", () => {
    expect(tenantScope(null, 'game:hokm')).toBe('game:hokm');
    expect(tenantScope('guild-42', 'all')).toBe('tenant:guild-42');
    expect(tenantScope('guild-42', 'game:a/b')).toBe('tenant:guild-42/game:a/b');
    expect(tenantScope('a/b', 'day:2030-01-01')).toBe('tenant:a%2Fb/day:2030-01-01');
    expect(tenantScope('a%2Fb', 'all')).toBe('tenant:a%252Fb');
    expect(baseScope('tenant:a%2Fb/game:x/y')).toBe('game:x/y');
    expect(baseScope('tenant:a%2Fb')).toBe('all');
    expect(isPeriodScope('tenant:t/week:2030-01-07')).toBe(true);
    expect(isPeriodScope('tenant:day:1')).toBe(false);
    expect(isPeriodScope('month:2030-01')).toBe(true);
  });

  it('never give two (tenant, scope) pairs one name, nor a tenant a global name', () => {
    const base = fc.oneof(fc.constant('all'), fc.string().map((g) => `game:${g}`), fc.constantFrom('day:2030-01-01', 'week:2029-12-31', 'month:2030-01'));
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), base, fc.string({ minLength: 1 }), base, (t1, s1, t2, s2) => {
        if (t1 === t2 && s1 === s2) return;
        expect(tenantScope(t1, s1)).not.toBe(tenantScope(t2, s2));
        expect(tenantScope(t1, s1).startsWith('tenant:')).toBe(true);
        expect(baseScope(tenantScope(t1, s1))).toBe(s1);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('session.created confined', () => {
  const created = (data: Record<string, unknown>) => ({ id: uuidv7(), type: 'session.created', sessionId: 's', seq: 1, at: '2030-01-01T00:00:00Z', data: { gameType: 'hokm', ...data } });
  const refusal = (data: Record<string, unknown>): [string, string] | null => {
    try {
      validateEvent(created(data));
      return null;
    } catch (e) {
      if (e instanceof ContractError) return [e.field, e.reason];
      throw e;
    }
  };

  it('is a boolean, and a confined session needs its tenant', () => {
    expect(refusal({ tenant: 't', confined: true })).toBeNull();
    expect(refusal({ confined: false })).toBeNull();
    expect(refusal({ confined: true })).toEqual(['data.confined', 'needs data.tenant: a confined session counts in its tenant only']);
    expect(refusal({ tenant: 't', confined: 'yes' })?.[0]).toBe('data.confined');
  });
});
