/**
 * What the command modules share about their arguments: the parsed options (`Flags`, by their
 * command-line names) and the usage error. Kept apart from main.ts so that the modules main.ts imports
 * do not import it back.
 */
import { GamePersistError } from '../errors.ts';

/** A command line the program cannot run: printed with the command's help, exit 2. */
export class UsageError extends GamePersistError {
  constructor(message: string) {
    super('usage', message);
  }
}

/** A command's options by their command-line names (`tail-limit`, not `tailLimit`). */
export interface Flags {
  json?: boolean;
  'create-db'?: boolean;
  'create-roles'?: boolean;
  apply?: boolean;
  'owner-role'?: string;
  'worker-role'?: string;
  'reader-role'?: string;
  'api-role'?: string;
  'grafana-role'?: string;
  concurrency?: string;
  'batch-rows'?: string;
  'batch-ms'?: string;
  'allow-eviction'?: boolean;
  embedded?: boolean;
  'data-dir'?: string;
  reason?: string;
  all?: boolean;
  limit?: string;
  after?: string;
  id?: string[];
  sessions?: string;
  seed?: string;
  active?: boolean;
  tenant?: string;
  from?: string;
  to?: string;
  session?: string;
  by?: string;
  period?: string;
  game?: string;
  around?: string;
  days?: string;
  sample?: string;
  write?: boolean;
  seq?: string;
  issued?: string;
  'timeout-ms'?: string;
  'tail-limit'?: string;
  scope?: string[];
  'rate-limit'?: string;
  schema?: string;
  documents?: string;
  description?: string;
  'dry-run'?: boolean;
}

/** A flag that must be a positive integer; names the flag when it is not. */
export function intFlag(flags: Flags, name: keyof Flags, def: number): number {
  const raw = flags[name];
  return raw === undefined ? def : positiveInt(String(name), raw);
}

export function positiveInt(name: string, raw: unknown): number {
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${String(raw)}"`);
  return n;
}
