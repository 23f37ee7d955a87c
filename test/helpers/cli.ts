import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(REPO, 'bin/is-provision.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON lines, when --json was given. */
  events: Record<string, any>[];
}

/** Runs the built CLI as a user would, from the repository root. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? REPO,
      env: { ...process.env, CI: '1', NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const events = args.includes('--json')
        ? stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, any>)
        : [];
      resolve({ code: code ?? -1, stdout, stderr, events });
    });
  });
}

/** The recap of a --json run. */
export function recapOf(result: CliResult): Record<string, { ok: number; changed: number; failed: number; skipped: number; unreachable: boolean }> {
  const recap = result.events.find((e) => e.type === 'recap');
  if (!recap) throw new Error(`no recap in output:\n${result.stdout}\n${result.stderr}`);
  return recap.hosts;
}

/** "host/task" of every task event with the given status. */
export function tasksWith(result: CliResult, status: string): string[] {
  return result.events.filter((e) => e.type === 'task' && e.status === status).map((e) => `${e.host}/${e.task}`);
}
