/**
 * The registered game event types of the database, compiled and kept fresh: every API server and
 * worker holds one TypeRegistry, re-read every GP_CONTRACT_REFRESH_S, and checked against the database
 * (one short fingerprint row) before an event of a type it does not know is accepted or one that fails
 * its schema is refused: a type registered through any replica is enforced by every other from its
 * next event on, and an event is never refused by a stale copy of a schema that has changed.
 */
import type { CustomTypeCheck, CustomTypeProblem } from '../contract/custom-check.ts';
import { compileCustomType, CustomTypes, type CustomTypeMode, type CustomTypeRow } from '../contract/custom-types.ts';
import type { Reader } from './reader.ts';
import { DELETE_EVENT_TYPE_SQL, EVENT_TYPES_FINGERPRINT_SQL, LIST_EVENT_TYPES_SQL, UPSERT_EVENT_TYPE_SQL } from './sql/event-types.ts';

export interface RegisteredType extends CustomTypeRow {
  updated_at: string;
}

export class TypeRegistry implements CustomTypeCheck {
  private current: CustomTypes;
  private fingerprint: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private loading: Promise<void> | null = null;
  private missed = false;

  private readonly reader: Pick<Reader, 'read'>;
  readonly mode: CustomTypeMode;
  private readonly refreshMs: number;

  constructor(reader: Pick<Reader, 'read'>, mode: CustomTypeMode, refreshMs: number) {
    this.reader = reader;
    this.mode = mode;
    this.refreshMs = refreshMs;
    this.current = new CustomTypes([], mode);
  }

  /** Reads and compiles every registration (concurrent callers share one read). */
  refresh(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const rows = await this.reader.read<RegisteredType & { fingerprint: string }>(LIST_EVENT_TYPES_SQL, []);
        this.current = new CustomTypes(rows, this.mode);
        this.fingerprint = rows[0]?.fingerprint ?? '';
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  /** Re-reads if a registration changed since the last read; true when it did. */
  async refreshIfChanged(): Promise<boolean> {
    const [r] = await this.reader.read<{ fingerprint: string }>(EVENT_TYPES_FINGERPRINT_SQL, []);
    if (r?.fingerprint === this.fingerprint) return false;
    await this.refresh();
    return true;
  }

  /** Loads now, then every refreshMs (a failed re-read keeps the last good registrations). */
  async start(onError?: (e: unknown) => void): Promise<this> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch((e) => onError?.(e)), this.refreshMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  check(type: string, data: Record<string, unknown>): CustomTypeProblem | null {
    if (this.current.version(type) === null) this.missed = true;
    return this.current.check(type, data);
  }

  /** Whether a type unknown to the last read was checked since the previous call (then worth a re-read). */
  takeMissed(): boolean {
    const m = this.missed;
    this.missed = false;
    return m;
  }

  get types(): CustomTypeRow[] {
    return this.current.types;
  }
}

type Query = <R>(sql: string, params: unknown[]) => Promise<R[]>;

/**
 * Registers (or replaces) the schema of a game type after compiling it.
 * @throws ContractError when the type name or the schema is refused.
 */
export async function registerType(query: Query, type: string, schema: unknown, description: string | null = null): Promise<RegisteredType> {
  compileCustomType(type, schema);
  const [row] = await query<RegisteredType>(UPSERT_EVENT_TYPE_SQL, [type, JSON.stringify(schema), description]);
  return row as RegisteredType;
}

/** Removes a registration; false when the type was not registered. Its stored events stay. */
export async function removeType(query: Query, type: string): Promise<boolean> {
  return (await query(DELETE_EVENT_TYPE_SQL, [type])).length > 0;
}

export async function listTypes(query: Query): Promise<RegisteredType[]> {
  return query<RegisteredType>(LIST_EVENT_TYPES_SQL, []);
}
