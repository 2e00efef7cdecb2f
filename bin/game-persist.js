#!/usr/bin/env node
// In a checkout, runs the TypeScript sources directly (Node >= 22.18 strips types; `npm run` and `npx`
// put the bundled Node 24 first on PATH). Installed as a package, runs the compiled dist/.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`game-persist needs Node >= 22.18 (this is ${process.version}); in a checkout run it through npm (npm run gp -- <command>) or npx, which use the bundled Node 24`);
  process.exit(2);
}
const installed = import.meta.url.includes('/node_modules/');
const { main } = await import(installed ? '../dist/src/cli/main.js' : '../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
