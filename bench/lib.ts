/** What the benchmark scripts share: percentiles, rounding, the figures table, dropping the scratch database. */
import pg from 'pg';

export const pct = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number;
export const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Prints the headline figures as a table ([label, value, target]), then the whole result as one JSON line (last). */
export function printFigures(rows: [string, string, string][], result: Record<string, unknown>): void {
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  console.log(rows.map((r) => `${r[0].padEnd(width)} ${r[1].padStart(10)}  ${r[2]}`).join('\n'));
  console.log(JSON.stringify(result));
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Emits without waiting for each event: keeps up to `limit` emits in flight, counting what was sent. */
export function emitWindow(limit = 5000) {
  const window: Promise<unknown>[] = [];
  let sent = 0;
  return {
    get sent() {
      return sent;
    },
    push(x: Promise<unknown>) {
      window.push(x);
      sent++;
    },
    /** Waits for the emits in flight once `limit` are (or always, with `all`). */
    async flush(all = false) {
      if (all || window.length >= limit) await Promise.all(window.splice(0));
    },
  };
}
