/**
 * Statements of the docs that name a fact of the code: each is checked against the code it describes,
 * so the two cannot drift apart silently (issue 19 found several that had).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KEY_RE } from '../../src/api/keys.ts';
import { EVENT_TYPES } from '../../src/contract/events.ts';

const doc = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('the docs state what the code does', () => {
  it("docs/http.md gives the API key's exact format, the verifier's pattern", () => {
    const pattern = KEY_RE.source.replace(/[()]/g, '');
    expect(doc('docs/http.md')).toContain(`\`${pattern}\``);
  });

  it('docs/contract.md counts the event types the contract has', () => {
    const n = Object.keys(EVENT_TYPES).length;
    const page = doc('docs/contract.md');
    for (const m of page.matchAll(/all (\d+) types/g)) expect(Number(m[1]), m[0]).toBe(n);
    expect(page).toContain(`all ${n} types`);
  });

  it("the README and the Python client's READMEs ask for the Python the package declares", () => {
    const declared = /requires-python = ">=(\d+\.\d+)"/.exec(doc('clients/python/pyproject.toml'))?.[1];
    expect(declared).toBeDefined();
    for (const page of ['README.md', 'clients/python/README.md']) {
      const named = [...doc(page).matchAll(/Python (3\.\d+)\+|`python3` \((3\.\d+) or/g)].map((m) => m[1] ?? m[2]);
      expect(named.length, page).toBeGreaterThan(0);
      for (const v of named) expect(v, page).toBe(declared);
    }
  });
});
