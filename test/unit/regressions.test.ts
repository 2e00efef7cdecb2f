/** Regressions, named for what broke. Each file gets fresh module state, which some of these need. */
import { describe, expect, it } from 'vitest';
import { validateEvent } from '../../src/contract/validate.ts';
import { ContractError } from '../../src/errors.ts';
import { moveEvent } from '../helpers/examples.ts';

describe('regressions', () => {
  it('at: null as the very first event a process validates is a ContractError, not a TypeError that fails the whole job', () => {
    // validateEvent remembers the last good timestamp; it started as null, so null once slipped through.
    expect(() => validateEvent({ ...moveEvent('s', 1), at: null })).toThrow(ContractError);
  });
});
