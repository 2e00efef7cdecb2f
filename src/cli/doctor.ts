import type { Config } from '../config.ts';
import { doctor } from '../ops/doctor.ts';
import type { Flags } from './args.ts';
import { esc } from './output.ts';

export async function runDoctor(cfg: Readonly<Config>, flags: Flags): Promise<number> {
  const report = await doctor(cfg);
  if (flags.json) console.log(JSON.stringify(report));
  else {
    for (const c of report.checks) console.log(esc`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(15)} ${c.detail}`);
    if (report.queue) console.log(esc`      ${'queue'.padEnd(15)} ${Object.entries(report.queue).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (report.deadLetters !== undefined) console.log(esc`      ${'dead letters'.padEnd(15)} ${report.deadLetters} not replayed`);
  }
  return report.ok ? 0 : 1;
}
