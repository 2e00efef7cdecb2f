/**
 * packages/sdk/package.json states again a few facts of the root package (its version, the ranges of
 * the dependencies it shares with the server): they must agree, and each of its entry points must be
 * built from the source module the server exports under the same name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const read = (path: string) => JSON.parse(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'));
const root = read('package.json');
const sdk = read('packages/sdk/package.json');
const tsconfig = read('packages/sdk/tsconfig.json') as { files: string[] };

it('has the root package version and license', () => {
  expect(sdk.version).toBe(root.version);
  expect(sdk.license).toBe(root.license);
});

it('depends on what it shares with the server in the same ranges, pg as an optional peer', () => {
  for (const [name, range] of Object.entries({ ...sdk.dependencies, ...sdk.peerDependencies })) expect(range, name).toBe(root.dependencies[name]);
  expect(Object.keys(sdk.dependencies).sort()).toEqual(['bullmq', 'ioredis']);
  expect(sdk.peerDependenciesMeta).toEqual({ pg: { optional: true } });
});

it('builds each entry point from the source the server exports under that name', () => {
  const same: Record<string, string> = { '.': './producer', './contract': './contract' };
  for (const [entry, serverEntry] of Object.entries(same)) {
    const built = sdk.exports[entry].default as string; // ./dist/producers/index.js
    const source = built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
    expect(existsSync(new URL(`../../${source}`, import.meta.url)), source).toBe(true);
    expect(tsconfig.files).toContain(`../../${source}`);
    expect(sdk.exports[entry].types).toBe(built.replace(/\.js$/, '.d.ts'));
    expect(root.exports[serverEntry].default).toBe(built.replace(/^\.\/dist\//, './dist/src/'));
  }
  expect(sdk.types).toBe(sdk.exports['.'].types);
});
