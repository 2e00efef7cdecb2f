import { execFile } from 'node:child_process';
import { CLI } from './worker.ts';
import { childEnv } from './env.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `game-persist ...args` to completion. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...childEnv(), ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
