/**
 * Timestamps read back to be merged, compared or returned as they are stored: PostgreSQL keeps
 * microseconds, a JavaScript Date only milliseconds, so a value that went through a Date and back would
 * come out changed. These read as RFC 3339 UTC text with all six fraction digits instead.
 */
export const utc = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
