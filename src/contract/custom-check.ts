/**
 * What validateEvent asks about a game type's (`x.<game>.<name>`) data, apart from how the answer is
 * computed (./custom-types.ts, with ajv): the producer SDK (packages/sdk) takes such a check as an
 * option without shipping ajv.
 */

/** Why `data` does not satisfy its type: the failing path in the event (`data.choice.option`) and why. */
export interface CustomTypeProblem {
  field: string;
  reason: string;
}

/** What validateEvent asks about a game type's data. */
export interface CustomTypeCheck {
  check(type: string, data: Record<string, unknown>): CustomTypeProblem | null;
}
