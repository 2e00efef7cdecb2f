/** Registered game event types (event_types): their JSON Schemas, versioned by registration. */
import { utc } from './time.ts';

/** Result: type, schema, version, description, updated_at, every registration in type order. */
export const LIST_EVENT_TYPES_SQL = `SELECT type, schema, version, description, ${utc('updated_at')} AS updated_at,
  (SELECT coalesce(md5(string_agg(type || ':' || version, ',' ORDER BY type)), '') FROM event_types) AS fingerprint
FROM event_types ORDER BY type`;

/** What changes whenever a registration does: one short row however many types there are. */
export const EVENT_TYPES_FINGERPRINT_SQL = `SELECT coalesce(md5(string_agg(type || ':' || version, ',' ORDER BY type)), '') AS fingerprint FROM event_types`;

/** Registers or replaces: $1 type, $2 schema (JSON), $3 description. Result: the row, its version counted up. */
export const UPSERT_EVENT_TYPE_SQL = `
INSERT INTO event_types (type, schema, description, version) VALUES ($1, $2::jsonb, $3, 1)
ON CONFLICT (type) DO UPDATE SET schema = excluded.schema, description = excluded.description,
  version = event_types.version + 1, updated_at = now()
RETURNING type, schema, version, description, ${utc('updated_at')} AS updated_at`;

/** $1 type. Result: the removed type, if it was registered. */
export const DELETE_EVENT_TYPE_SQL = `DELETE FROM event_types WHERE type = $1 RETURNING type`;
