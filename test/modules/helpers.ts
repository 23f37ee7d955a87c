import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import type { FileFact } from '../../src/facts/file.js';
import type { DecideContext } from '../../src/modules/define.js';
import type { Decision, Step } from '../../src/modules/decision.js';
import { factScript, splitFactOutput } from '../../src/facts/batch.js';
import type { ModuleDefinition } from '../../src/modules/define.js';
import { wrap } from '../../src/shell/wrap.js';
import { runSh } from '../shell/run-sh.js';

export const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
export const short = (data: string | Buffer): string => sha(data).slice(0, 12);

export const NOW = new Date('2024-01-02T03:04:05.678Z');
export const STAMP = '20240102T030405Z';

export function context(overrides: Partial<DecideContext> = {}): DecideContext {
  return {
    host: { name: 'web1', address: '10.0.0.1', groups: ['web'], vars: {} },
    vars: {},
    dryRun: false,
    become: true,
    loginUser: 'deploy',
    now: NOW,
    ...overrides,
  };
}

/** A regular file as the file fact reports it, with its content read. */
export function fileWith(path: string, content: string | Buffer, extra: Partial<FileFact> = {}): FileFact {
  return {
    path,
    type: 'file',
    parent: 'directory',
    mode: '0644',
    owner: 'root',
    group: 'root',
    size: Buffer.byteLength(content),
    sha256: sha(content),
    content: Buffer.from(content),
    ...extra,
  };
}

export const absent = (path: string, parent: FileFact['parent'] = 'directory'): FileFact => ({ path, type: 'absent', parent });

export const directory = (path: string, extra: Partial<FileFact> = {}): FileFact => ({
  path,
  type: 'directory',
  parent: 'directory',
  mode: '0755',
  owner: 'root',
  group: 'root',
  size: 4096,
  ...extra,
});

/** The parts of a decision a test compares: commands as text, stdin as text. */
export function summary(decision: Decision): unknown {
  if (decision.kind === 'noop') return decision;
  return {
    kind: decision.kind,
    reason: decision.reason,
    ...(decision.diff !== undefined ? { diff: decision.diff } : {}),
    steps: decision.steps.map(stepSummary),
  };
}

function stepSummary(step: Step): unknown {
  if (step.kind === 'upload') return step;
  return {
    command: step.command.text,
    ...(step.stdin !== undefined ? { stdin: step.stdin.toString() } : {}),
    ...(step.cwd !== undefined ? { cwd: step.cwd } : {}),
    ...(step.env !== undefined ? { env: step.env } : {}),
    ...(step.label !== undefined ? { label: step.label } : {}),
  };
}

/** The +/- lines of a unified diff, without headers: what changed and nothing else. */
export function changedLines(diff: string | undefined): string[] {
  return (diff ?? '').split('\n').filter((l) => /^[-+]/.test(l) && !/^(---|\+\+\+) /.test(l));
}

/** The expected atomicWrite script, line by line, for the given quoted dest and extra lines. */
export function atomicScript(destWord: string, mode: string, middle: string[] = []): string {
  return [
    'set -e',
    `dest=${destWord}`,
    'tmp=$(mktemp "$(dirname -- "$dest")/.is-provision.XXXXXXXX")',
    `trap 'rm -f -- "$tmp"' EXIT`,
    'cat > "$tmp"',
    `chmod ${mode} "$tmp"`,
    ...middle,
    'mv -f -- "$tmp" "$dest"',
    'trap - EXIT',
  ].join('\n');
}

export const LOCAL_USER = userInfo().username;
export const LOCAL_GROUP = execFileSync('id', ['-gn']).toString().trim();

/** Gathers a module's facts on this machine in one round trip, as the engine does on a host. */
export function factsHere<P>(module: ModuleDefinition<any, P>, plan: P, ctx: DecideContext = context()): Record<string, unknown> {
  const calls = Object.entries(module.facts(plan, ctx));
  const nonce = 'testnonce42';
  const script = factScript(
    calls.map(([, call]) => call),
    nonce,
  );
  const result = runSh(wrap(script).command);
  if (result.code !== 0) throw new Error(`facts failed: ${result.stderr}`);
  const outputs = splitFactOutput(result.stdout.toString('utf8'), nonce, calls.length);
  return Object.fromEntries(calls.map(([key, call], i) => [key, call.fact.parse(outputs[i]!.stdout, call.args)]));
}

/** Decides with facts gathered here. */
export function decideHere<P>(module: ModuleDefinition<any, P>, plan: P, ctx: DecideContext = context()): Decision {
  return module.decide(plan, factsHere(module, plan, ctx) as never, ctx);
}

/** Runs a decision's exec steps here, through wrap() as the engine does (without sudo). */
export function applyHere(decision: Decision): void {
  if (decision.kind !== 'change') return;
  for (const step of decision.steps) {
    if (step.kind !== 'exec') throw new Error('upload steps are not run here');
    const prepared = wrap(step.command, { ...(step.cwd ? { cwd: step.cwd } : {}), ...(step.env ? { env: step.env } : {}) });
    const stdin = Buffer.concat([Buffer.from(prepared.stdinPrefix), step.stdin === undefined ? Buffer.alloc(0) : Buffer.from(step.stdin)]);
    const result = runSh(prepared.command, { stdin });
    if (result.code !== 0) throw new Error(`step failed (${result.code}): ${result.stderr}\n${step.command.text}`);
  }
}
