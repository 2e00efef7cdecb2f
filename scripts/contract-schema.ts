/** Writes docs/contract.schema.json from the contract module (`npm run contract:schema`). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { contractJsonSchema } from '../src/contract/json-schema.ts';

export const SCHEMA_PATH = fileURLToPath(new URL('../docs/contract.schema.json', import.meta.url));

export function schemaText(): string {
  return `${JSON.stringify(contractJsonSchema(), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(SCHEMA_PATH, schemaText());
  console.log(`wrote ${SCHEMA_PATH}`);
}
