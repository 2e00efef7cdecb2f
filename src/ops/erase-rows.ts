/**
 * The database part of an erasure (src/ops/erase-player.ts), inside its transaction: blanks the
 * player's personal text, deletes what mentions them and cannot be rewritten, and replaces their id by
 * the pseudonym everywhere it is a value, a document key segment or part of JSON (src/ops/erase-json.ts).
 *
 * Rows are found through the player's sessions wherever a table is keyed by session (its index finds
 * them), and by the id itself elsewhere. Values that need the JSON rules are read into this process a
 * page at a time through a cursor (rows locked, FOR UPDATE) and written back by ctid, so a player with
 * a million rows is rewritten in bounded memory.
 */
import type { TxQuery } from '../db/query.ts';
import { EVENT_TABLES } from '../db/families.ts';
import {
  BLANK_SQL, CANDIDATES_PAGE, CLOSE_CANDIDATES_SQL, DELETE_MENTIONS_SQL, DROP_MERGED_PLAYER_ROW_SQL, ERASABLE_COLUMNS_SQL, FETCH_CANDIDATES_SQL,
  MERGE_PLAYER_ROW_SQL, PLAYER_SESSIONS_SQL, RATED_INPUTS_SQL, REWRITE_SNAPSHOTS_SQL, WRITE_RATED_INPUT_SQL, openCandidatesSql, rekeyIdSql, rewriteSql,
} from '../db/sql/erase.ts';
import { inputOrder } from '../aggregates/ratings.ts';
import { stateHash } from '../snapshots/hash.ts';
import { jsonNeedle, numberPattern, rekey, rekeyJson, rekeyString, type Rekey } from './erase-json.ts';

/** Rows changed or deleted per `table.column` (only non-zero ones). */
export type EraseCounts = Record<string, number>;

interface Column {
  table_name: string;
  column_name: string;
  kind: 'id' | 'segments' | 'json';
  session_keyed: boolean;
}

/** Erases the player's rows under `pseudonym`; a unique violation (23505) means the pseudonym's rows collide with the id's. */
export async function eraseRows(q: TxQuery, id: string, pseudonym: string): Promise<EraseCounts> {
  const counts: EraseCounts = {};
  const add = (label: string, n: number) => {
    if (n) counts[label] = (counts[label] ?? 0) + n;
  };
  const r = rekey(id, pseudonym);
  const sessions = (await q<{ session_id: string }>(PLAYER_SESSIONS_SQL(EVENT_TABLES), [id])).map((x) => x.session_id);
  // An earlier erasure's players row and the id's new one (late events) become one.
  await q(MERGE_PLAYER_ROW_SQL, [id, pseudonym]);
  add('players.merged', (await q(DROP_MERGED_PLAYER_ROW_SQL, [id, pseudonym])).length);
  // Texts first: they are found by the original id, which the re-keying below replaces.
  for (const [label, sql] of BLANK_SQL) add(label, (await q(sql, sql.includes('$2') ? [id, sessions] : [id])).length);
  for (const [label, sql] of DELETE_MENTIONS_SQL) add(label, (await q(sql, [JSON.stringify(id), numberPattern(r)])).length);
  const columns = await q<Column>(ERASABLE_COLUMNS_SQL);
  for (const c of columns) {
    const label = `${c.table_name}.${c.column_name}`;
    const scope = c.session_keyed ? [sessions] : [];
    if (c.kind === 'id') add(label, (await q(rekeyIdSql(c.table_name, c.column_name, c.session_keyed), [id, pseudonym, ...scope])).length);
    else add(label, await rewriteCandidates(q, c, r, scope));
  }
  // A recorded rating input is in canonical order (names sorted), which the new name may change.
  for (const x of await q<{ session_id: string; teams: string[][]; ranks: number[] }>(RATED_INPUTS_SQL, [sessions])) {
    const sorted = inputOrder(x.teams, x.ranks);
    if (JSON.stringify(sorted) !== JSON.stringify({ teams: x.teams, ranks: x.ranks }))
      add('rated_sessions.order', (await q(WRITE_RATED_INPUT_SQL, [x.session_id, JSON.stringify(sorted.teams), JSON.stringify(sorted.ranks)])).length);
  }
  return counts;
}

/** Reads the column's candidate rows through a cursor and writes back those the rules change; the count. */
async function rewriteCandidates(q: TxQuery, c: Column, r: Rekey, scope: unknown[]): Promise<number> {
  const json = c.kind === 'json';
  const snapshots = c.table_name === 'session_snapshots' && c.column_name === 'state';
  await q(openCandidatesSql(c.table_name, c.column_name, json, c.session_keyed), [json ? jsonNeedle(r) : r.id, ...scope]);
  let n = 0;
  try {
    for (;;) {
      const page = await q<{ ctid: string; v: unknown; hashed?: boolean }>(FETCH_CANDIDATES_SQL);
      const ctids: string[] = [];
      const values: string[] = [];
      const hashes: (string | null)[] = [];
      for (const row of page) {
        const v = json ? rekeyJson(row.v, r) : rekeyString(row.v as string, r);
        if (v === row.v) continue;
        ctids.push(row.ctid);
        values.push(json ? JSON.stringify(v) : (v as string));
        if (snapshots) hashes.push(row.hashed ? stateHash(v) : null);
      }
      if (ctids.length) n += (await q(snapshots ? REWRITE_SNAPSHOTS_SQL : rewriteSql(c.table_name, c.column_name, json), snapshots ? [ctids, values, hashes] : [ctids, values])).length;
      if (page.length < CANDIDATES_PAGE) break;
    }
  } finally {
    await q(CLOSE_CANDIDATES_SQL).catch(() => {});
  }
  return n;
}
