/**
 * `game-persist export-player <id>` and GET /v1/players/{id}/export: every row about a player, as the
 * right of access asks (what Nakama's and PlayFab's account exports give): the players row, statistics
 * (ratings included) and pending stat deltas, participations, sessions they created, their events of
 * every family (game-defined `x.*` types included), votes targeting them, documents they own, join-queue
 * entries and events, rated sessions they played, archived leaderboard ranks, and dead letters naming
 * them (their id as a JSON string or, for an integer id, a number: src/ops/erase-json.ts numberPattern).
 *
 * NDJSON, one JSON object per line, so a player with millions of rows streams in bounded memory: a
 * header `{"export":"player","version":1,"player":…,"at":…}`, one `{"table":…,"match":…,"row":{…}}` per
 * row (`match` names the column that names the player), and a trailer `{"end":true,"rows":{table:n},
 * "total":n}`: a stream without its trailer was cut short. Every part is read through a cursor (100 rows
 * per fetch) in one REPEATABLE READ READ ONLY transaction on a connection of its own, so the export is one
 * consistent snapshot and writes nothing. Rows are as stored (bigints as strings, times as ISO strings).
 * Another player's rows never appear: each part selects by the player's own columns (a rated session by
 * the player's participation in it).
 */
import pg from 'pg';
import { idReason, isId } from '../contract/fields.ts';
import { ContractError } from '../errors.ts';
import { pgConnectionOptions } from '../db/tls.ts';
import { BEGIN_EXPORT_SQL, CLOSE_EXPORT_SQL, EXPORT_PAGE, EXPORT_PARTS, FETCH_EXPORT_SQL, openExportSql } from '../db/sql/export-player.ts';
import { numberPattern, rekey } from './erase-json.ts';

export const EXPORT_VERSION = 1;

export type ExportLine =
  | { export: 'player'; version: number; player: string; at: string }
  | { table: string; match: string; row: Record<string, unknown> }
  | { end: true; rows: Record<string, number>; total: number };

/** The export's lines, read from `databaseUrl` (a replica is fine). Ending the iteration early closes the connection. */
export async function* exportPlayer(databaseUrl: string, id: string, now: () => Date = () => new Date()): AsyncGenerator<ExportLine> {
  // Checked before anything is read or yielded: a stream cannot turn into an error answer once begun.
  if (!isId(id)) throw new ContractError('id', idReason(id));
  const client = new pg.Client({ ...pgConnectionOptions(databaseUrl), application_name: 'game-persist:export' });
  client.on('error', () => {}); // a dropped connection fails the next query, which ends the stream
  await client.connect();
  try {
    await client.query(BEGIN_EXPORT_SQL);
    yield { export: 'player', version: EXPORT_VERSION, player: id, at: now().toISOString() };
    const rows: Record<string, number> = {};
    let total = 0;
    const mention = [JSON.stringify(id), numberPattern(rekey(id, ''))];
    for (const part of EXPORT_PARTS) {
      await client.query(openExportSql(part), part.byMention ? mention : [id]);
      for (;;) {
        const page = (await client.query<Record<string, unknown>>(FETCH_EXPORT_SQL)).rows;
        for (const row of page) yield { table: part.table, match: part.match, row };
        if (page.length) rows[part.table] = (rows[part.table] ?? 0) + page.length;
        total += page.length;
        if (page.length < EXPORT_PAGE) break;
      }
      await client.query(CLOSE_EXPORT_SQL);
    }
    await client.query('COMMIT');
    yield { end: true, rows, total };
  } finally {
    await client.end().catch(() => {});
  }
}
