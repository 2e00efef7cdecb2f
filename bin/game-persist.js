#!/usr/bin/env node
// Runs the TypeScript sources directly (Node >= 22.18 strips types). Inside this repository `npm run`
// and `npx` put the bundled Node 24 (devDependency "node") first on PATH.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`game-persist needs Node >= 22.18 (this is ${process.version}); run it through npm (npm run gp -- <command>) or npx, which use the bundled Node 24`);
  process.exit(2);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
