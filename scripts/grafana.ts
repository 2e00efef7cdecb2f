/**
 * Renders the dashboards of src/metrics/dashboards.ts into grafana/dashboards/*.json.
 * `--write` writes them; `--check` (CI) exits 1 when a committed file differs from what the code renders.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { DASHBOARDS, renderDashboard } from '../src/metrics/dashboards.ts';

const mode = process.argv[2];
if (mode !== '--write' && mode !== '--check') {
  console.error('usage: grafana.ts --write | --check');
  process.exit(2);
}
let stale = 0;
for (const d of DASHBOARDS) {
  const file = new URL(`../grafana/dashboards/${d.uid}.json`, import.meta.url);
  const text = `${JSON.stringify(renderDashboard(d), null, 2)}\n`;
  if (mode === '--write') writeFileSync(file, text);
  else {
    let old = '';
    try {
      old = readFileSync(file, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (old !== text) {
      console.error(`grafana/dashboards/${d.uid}.json is stale: run \`node scripts/grafana.ts --write\``);
      stale++;
    }
  }
}
if (mode === '--check' && !stale) console.log(`grafana dashboards current (${DASHBOARDS.length})`);
process.exit(stale ? 1 : 0);
