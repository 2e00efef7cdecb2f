/**
 * How `agent_logs`' long texts (prompt, response, thinking) are best stored: PostgreSQL's TOAST
 * compresses a text column's values over ~2 KB, with pglz (the default) or lz4 (`ALTER TABLE … ALTER
 * COLUMN … SET COMPRESSION lz4`, PostgreSQL ≥ 14 built --with-lz4). This writes the same realistic
 * rows — a 4X game's prompt carrying the full game state (the map as JSON, the empires, the last turns,
 * the instructions), a reasoning model's thinking and its answer — into one table per method and
 * prints the stored size and the time to write and to read them back.
 *
 *   node bench/agent-text.ts [--rows 20] [--prompt-kib 1024]     (DATABASE_URL or the local server)
 *
 * Measured on the project's two-core machine (PostgreSQL 15, 20 rows of a 1 MiB prompt, 128 KiB of
 * thinking, 6 KiB of answer; docs/contract.md quotes it): see the comment at the end.
 */
import pg from 'pg';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const ROWS = opt('rows', 20);
const PROMPT_BYTES = opt('prompt-kib', 1024) * 1024;

/** A small deterministic generator (the same text on every run). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const TERRAIN = ['plains', 'grassland', 'forest', 'hills', 'mountains', 'desert', 'tundra', 'coast', 'ocean', 'marsh'];
const UNITS = ['warrior', 'archer', 'spearman', 'horseman', 'catapult', 'settler', 'worker', 'scout', 'trireme', 'knight'];
const BUILDINGS = ['granary', 'barracks', 'library', 'market', 'walls', 'temple', 'harbor', 'workshop'];
const EMPIRES = ['alice', 'bob', 'chen', 'dana'];
const WORDS = (
  'the empire should expand toward the river because food is low and the northern border is exposed to ' +
  'an attack from bob whose archers moved last turn so we need walls in the capital before researching ' +
  'bronze working while chen trades gold for science and dana keeps her units near the coast which means ' +
  'the hills east of our second city are free to settle if a settler can reach them within three turns ' +
  'considering production of twelve and the cost of a granary versus a library given our current tech level'
).split(' ');

/** The prompt a 4X agent gets: instructions, the empires, the last turns, and the map as JSON, to `bytes`. */
function prompt(r: () => number, bytes: number, turn: number): string {
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)]!;
  const parts: string[] = [
    `You are Chen, an expansionist ruler. It is turn ${turn}. Study the full game state below and answer with one JSON order.`,
    'Rules: expanding costs 5 food, building 4 production, research 6 science; an attack needs more units than the defender.',
    `Empires: ${JSON.stringify(Object.fromEntries(EMPIRES.map((e) => [e, { food: Math.floor(r() * 300), production: Math.floor(r() * 200), gold: Math.floor(r() * 900), science: Math.floor(r() * 400), tech: Math.floor(r() * 30), units: Math.floor(r() * 60) }])), null, 2)}`,
    'Last turns:',
  ];
  for (let t = Math.max(1, turn - 20); t < turn; t++) parts.push(`- turn ${t}: ${EMPIRES.map((e) => `${e} ${pick(['expanded to', 'attacked', 'built a ' + pick(BUILDINGS) + ' at', 'researched near'])} ${Math.floor(r() * 64)},${Math.floor(r() * 64)}`).join('; ')}`);
  parts.push('Map (every tile):', '{');
  let size = parts.reduce((n, p) => n + p.length + 1, 0);
  for (let i = 0; size < bytes - 200; i++) {
    const tile = {
      terrain: pick(TERRAIN),
      owner: r() < 0.6 ? pick(EMPIRES) : null,
      food: Math.floor(r() * 6),
      production: Math.floor(r() * 5),
      units: r() < 0.3 ? [{ type: pick(UNITS), hp: Math.floor(r() * 100), owner: pick(EMPIRES) }] : [],
      buildings: r() < 0.15 ? [pick(BUILDINGS)] : [],
      visible: r() < 0.8,
    };
    const line = `  "${i % 64},${Math.floor(i / 64)}": ${JSON.stringify(tile, null, 1).replaceAll('\n', ' ')},`;
    parts.push(line);
    size += line.length + 1;
  }
  parts.push('}', 'Answer with: {"action": "expand|build|research|attack|trade", "target": "x,y"?, "reason": "..."}');
  return parts.join('\n');
}

/** A reasoning model's thinking: prose about the state, to `bytes`. */
function prose(r: () => number, bytes: number): string {
  const out: string[] = [];
  let size = 0;
  while (size < bytes) {
    const n = 8 + Math.floor(r() * 20);
    const s = Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');
    const line = `${s[0]!.toUpperCase()}${s.slice(1)}${r() < 0.3 ? ` (tile ${Math.floor(r() * 64)},${Math.floor(r() * 64)}, ${Math.floor(r() * 300)} food)` : ''}.`;
    out.push(line);
    size += line.length + 1;
  }
  return out.join(r() < 0.5 ? ' ' : '\n');
}

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', max: 2 });
const r = rng(4);
const rows = Array.from({ length: ROWS }, (_, i) => ({ prompt: prompt(r, PROMPT_BYTES, 40 + i), thinking: prose(r, 128 * 1024), response: prose(r, 6 * 1024) }));
const raw = rows.reduce((n, x) => n + Buffer.byteLength(x.prompt) + Buffer.byteLength(x.thinking) + Buffer.byteLength(x.response), 0);
console.log(`${ROWS} rows, ${(raw / 2 ** 20).toFixed(1)} MiB of text (prompt ${(PROMPT_BYTES / 1024) | 0} KiB, thinking 128 KiB, response 6 KiB each)`);

for (const method of ['pglz', 'lz4'] as const) {
  const table = `gp_bench_agent_text_${method}`;
  try {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, prompt text COMPRESSION ${method}, thinking text COMPRESSION ${method}, response text COMPRESSION ${method})`);
  } catch (e) {
    console.log(`${method}: not available on this server (${(e as Error).message})`);
    continue;
  }
  const t0 = performance.now();
  for (const [i, x] of rows.entries()) await pool.query(`INSERT INTO ${table} VALUES ($1, $2, $3, $4)`, [i, x.prompt, x.thinking, x.response]);
  const write = performance.now() - t0;
  const t1 = performance.now();
  const back = await pool.query<{ prompt: string; thinking: string; response: string }>(`SELECT prompt, thinking, response FROM ${table} ORDER BY id`);
  const read = performance.now() - t1;
  if (back.rows.some((b, i) => b.prompt !== rows[i]!.prompt || b.thinking !== rows[i]!.thinking)) throw new Error(`${method}: text changed`);
  const [s] = (
    await pool.query<{ stored: string; prompt: string; thinking: string }>(
      `SELECT sum(pg_column_size(prompt) + pg_column_size(thinking) + pg_column_size(response))::bigint AS stored,
              sum(pg_column_size(prompt))::bigint AS prompt, sum(pg_column_size(thinking))::bigint AS thinking FROM ${table}`,
    )
  ).rows;
  const stored = Number(s!.stored);
  console.log(
    `${method.padEnd(4)}: stored ${(stored / 2 ** 20).toFixed(2)} MiB (${(raw / stored).toFixed(1)}x; prompts ${((rows.length * PROMPT_BYTES) / Number(s!.prompt)).toFixed(1)}x, thinking ${((rows.length * 128 * 1024) / Number(s!.thinking)).toFixed(1)}x), ` +
      `write ${write.toFixed(0)} ms, read ${read.toFixed(0)} ms`,
  );
  await pool.query(`DROP TABLE ${table}`);
}
await pool.end();
