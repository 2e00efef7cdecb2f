/**
 * docs/openapi.json: the HTTP API's OpenAPI document, generated from the route schemas (what
 * `GET /openapi.json` serves) and validated by a real OpenAPI validator (@apidevtools/swagger-parser).
 *
 *   node scripts/openapi.ts           # write docs/openapi.json
 *   node scripts/openapi.ts --check   # exit 1 when it is out of date or invalid (CI)
 *
 * Needs no running service: the app is built with connections that never connect.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import { buildApi } from '../src/api/server.ts';
import { loadConfig } from '../src/config.ts';
import { createProducer } from '../src/producers/index.ts';
import { TypeRegistry } from '../src/db/event-types.ts';

const FILE = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
const redis = new Redis('redis://127.0.0.1:1', { lazyConnect: true });
const producer = createProducer({ connection: redis });
const types = new TypeRegistry({ read: async () => [] }, 'open', 60_000);
const app = await buildApi({ cfg: loadConfig({}), orm: {} as MikroORM, producer, types, redis });
await app.ready();
const doc = app.swagger() as Record<string, unknown>;
// Exactly what `GET /openapi.json` serves, version included (a test compares the two), so a release
// that bumps package.json regenerates this file too.
const text = `${JSON.stringify(doc, null, 2)}\n`;
await app.close();
redis.disconnect();

let code = 0;
try {
  await SwaggerParser.validate(JSON.parse(text));
  console.log('openapi: valid OpenAPI', (doc as { openapi: string }).openapi);
} catch (e) {
  console.error(`openapi: invalid: ${(e as Error).message}`);
  code = 1;
}
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(FILE, 'utf8');
  } catch {}
  if (current !== text) {
    console.error('docs/openapi.json is out of date: run `node scripts/openapi.ts` and commit it');
    code = 1;
  } else console.log('docs/openapi.json is up to date');
} else {
  writeFileSync(FILE, text);
  console.log(`wrote ${FILE}`);
}
process.exit(code);
