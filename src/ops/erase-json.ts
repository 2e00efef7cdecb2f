/**
 * How `erase-player` finds a player id inside values (src/ops/erase-player.ts): the rules, as pure
 * functions, so the SQL that picks candidate rows and the code that rewrites them agree.
 *
 * - A string is re-keyed where the id is the whole string or one of its `/`-separated path segments:
 *   `p-anna`, `characters/p-anna`, `p-anna/inventory`, `a/p-anna/b`; never `p-annabel` or `xp-anna`.
 *   Document keys (documents.key, document_events.doc_key) follow the same rule, so a document and its
 *   events keep one key.
 * - In JSON, every string value and every object key is re-keyed so; a number is replaced by the
 *   pseudonym (a string) when it equals an integer id of at least MIN_NUMERIC_ID_DIGITS digits
 *   (`"winners": [424242]` for player "424242"). Shorter integer ids are left as numbers: 3 or 250 are
 *   as likely to be a score, a count or hit points, and rewriting those would change the game's data.
 */

/** The shortest integer id also looked for as a JSON number. */
export const MIN_NUMERIC_ID_DIGITS = 5;

export interface Rekey {
  readonly id: string;
  readonly pseudonym: string;
  /** The id as a JSON number, or null when the id is not an integer of MIN_NUMERIC_ID_DIGITS+ digits. */
  readonly number: number | null;
}

export function rekey(id: string, pseudonym: string): Rekey {
  if (!id) throw new TypeError('rekey: empty id');
  const n = new RegExp(`^[1-9][0-9]{${MIN_NUMERIC_ID_DIGITS - 1},15}$`).test(id) ? Number(id) : NaN;
  return Object.freeze({ id, pseudonym, number: Number.isSafeInteger(n) ? n : null });
}

/**
 * What a row's JSON text (jsonb::text, as PostgreSQL prints it) must contain for any rule to apply:
 * the id as it appears inside a JSON string (escaped), which is also its digits when it is a number.
 */
export const jsonNeedle = (r: Rekey): string => JSON.stringify(r.id).slice(1, -1);

/**
 * A regular expression matching an integer id as a JSON number in JSON text as a raw job holds it (a
 * dead letter's payload, which may be cut short and so is not parsed; a queued job's data), or null when
 * the id is no integer: any integer id where the contract puts a player id (`"player"`, `"target"`,
 * `"createdBy"`, an element of `"winners"`), and an id of MIN_NUMERIC_ID_DIGITS+ digits anywhere.
 * `dialect`: PostgreSQL's ARE or JavaScript's, which write "not a `]`" differently.
 */
export function numberPattern(r: Rekey, dialect: 'are' | 'js' = 'are'): string | null {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(r.id) || !Number.isSafeInteger(Number(r.id))) return null;
  const n = r.id;
  const notBracket = dialect === 'are' ? '[^]]' : '[^\\]]';
  const typed = `"(player|target|createdBy)"\\s*:\\s*${n}\\s*(,|\\}|$)|"winners"\\s*:\\s*\\[(${notBracket}*,)?\\s*${n}\\s*(,|\\])`;
  return r.number === null ? typed : `${typed}|(^|\\[|:|,)\\s*${n}\\s*(,|\\]|\\}|$)`;
}

/** `s` with the id replaced where it is the whole string or a `/`-separated segment of it. */
export function rekeyString(s: string, r: Rekey): string {
  if (s === r.id) return r.pseudonym;
  let at = s.indexOf(r.id);
  if (at < 0) return s;
  let out = '';
  let from = 0;
  while (at >= 0) {
    const end = at + r.id.length;
    if ((at === 0 || s[at - 1] === '/') && (end === s.length || s[end] === '/')) {
      out += s.slice(from, at) + r.pseudonym;
      from = end;
      at = s.indexOf(r.id, end);
    } else at = s.indexOf(r.id, at + 1);
  }
  return out + s.slice(from);
}

/**
 * `v` (parsed JSON) with every string, object key and matching number re-keyed; the same object when
 * nothing changed. Objects are rebuilt with defined properties, so a `__proto__` key stays a key.
 */
export function rekeyJson(v: unknown, r: Rekey): unknown {
  if (typeof v === 'string') return rekeyString(v, r);
  if (typeof v === 'number') return r.number !== null && v === r.number ? r.pseudonym : v;
  if (Array.isArray(v)) {
    let changed = false;
    const out = v.map((x) => {
      const y = rekeyJson(x, r);
      if (y !== x) changed = true;
      return y;
    });
    return changed ? out : v;
  }
  if (v !== null && typeof v === 'object') {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const k2 = rekeyString(k, r);
      const y = rekeyJson(x, r);
      if (k2 !== k || y !== x) changed = true;
      Object.defineProperty(out, k2, { value: y, enumerable: true, writable: true, configurable: true });
    }
    return changed ? out : v;
  }
  return v;
}
