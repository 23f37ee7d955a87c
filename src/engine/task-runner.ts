import type { Host } from '../inventory/types.js';
import type { Transport } from '../transport/types.js';
import { TransportError } from '../transport/types.js';
import { factScript, splitFactOutput } from '../facts/batch.js';
import { Unknowable, type FactCall } from '../facts/define.js';
import type { EffectStore } from '../facts/effects.js';
import { TaskFailure, type Decision, type Step } from '../modules/decision.js';
import type { DecideContext } from '../modules/define.js';
import { wrap, type WrapOptions } from '../shell/wrap.js';
import { isSecret, Secret } from '../shell/secret.js';
import type { RunEvent, TaskError, TaskStatus } from './events.js';
import { StepError, tail } from './errors.js';
import type { PreparedTask } from './prepare.js';
import { hostView } from './vars.js';

/** One host's side of a run: its connection and what the run has planned on it so far. */
export interface HostSession {
  readonly host: Host;
  readonly transport: Transport;
  readonly effects: EffectStore;
  readonly nonce: string;
  readonly dryRun: boolean;
  readonly now: Date;
  readonly emit: (event: RunEvent) => void;
  /** Whether sudo asks this host's login user for a password: probed once, on first need. */
  sudo?: Promise<'asks' | 'no-password'>;
}

export interface TaskOutcome {
  status: TaskStatus;
  reason: string;
  diff?: string;
  error?: TaskError;
}

function becomes(session: HostSession, task: PreparedTask): boolean {
  return task.task.common.become ?? session.host.become;
}

async function wrapOptions(session: HostSession, task: PreparedTask): Promise<WrapOptions> {
  if (!becomes(session, task)) return {};
  const password = session.host.vars.become_password;
  const sudoPassword = isSecret(password) ? password : typeof password === 'string' ? new Secret(password) : undefined;
  if (!sudoPassword) return { sudo: true };
  // A password sent where sudo does not ask for one would be read by the command instead.
  session.sudo ??= session.transport.exec('sudo -n true', {}).then((r) => (r.code === 0 ? 'no-password' : 'asks'));
  return (await session.sudo) === 'asks' ? { sudo: true, sudoPassword } : { sudo: true };
}

function stdinOf(prefix: string, data?: string | Buffer): string | Buffer | undefined {
  if (data === undefined) return prefix === '' ? undefined : prefix;
  if (prefix === '') return data;
  return Buffer.concat([Buffer.from(prefix), Buffer.isBuffer(data) ? data : Buffer.from(data)]);
}

async function run(
  session: HostSession,
  task: PreparedTask,
  command: import('../shell/quote.js').Shell,
  options: WrapOptions,
  stdin?: string | Buffer,
): Promise<{ stdout: string; stderr: string; code: number; display: string }> {
  const prepared = wrap(command, options);
  const result = await session.transport.exec(prepared.command, { stdin: stdinOf(prepared.stdinPrefix, stdin) });
  session.emit({ type: 'command', host: session.host.name, task: task.name, command: prepared.display, code: result.code, stdout: result.stdout, stderr: result.stderr });
  return { ...result, display: prepared.display };
}

function sudoHint(stderr: string): string {
  if (/a password is required|no tty present|incorrect password/i.test(stderr)) {
    return ' (sudo needs a password: set the secret var become_password)';
  }
  return '';
}

/** The environment the facts of one round trip need; two facts wanting different values is a bug. */
function factEnv(calls: readonly FactCall<unknown>[]): { env?: Record<string, string | number | Secret> } {
  const env: Record<string, string | number | Secret> = {};
  for (const call of calls) {
    for (const [name, value] of Object.entries(call.fact.env?.(call.args) ?? {})) {
      const before = env[name];
      const same = (a: unknown, b: unknown) => (isSecret(a) && isSecret(b) ? a.reveal() === b.reveal() : a === b);
      if (before !== undefined && !same(before, value)) throw new Error(`facts of one task need different values of ${name}`);
      env[name] = value;
    }
  }
  return Object.keys(env).length > 0 ? { env } : {};
}

/** Reads a task's facts: from planned effects in a dry-run where they tell, the rest in one round trip. */
async function gatherFacts(session: HostSession, task: PreparedTask, calls: Record<string, FactCall<unknown>>): Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  const pending: [string, FactCall<unknown>][] = [];
  for (const [key, call] of Object.entries(calls)) {
    const known = session.dryRun ? call.fact.fromEffects?.(call.args, session.effects) : undefined;
    if (known instanceof Unknowable) throw known;
    if (known !== undefined) values[key] = known;
    else pending.push([key, call]);
  }
  if (pending.length === 0) return values;
  const script = factScript(pending.map(([, call]) => call), session.nonce);
  const result = await run(session, task, script, { ...(await wrapOptions(session, task)), ...factEnv(pending.map(([, call]) => call)) });
  let outputs;
  try {
    outputs = splitFactOutput(result.stdout, session.nonce, pending.length);
  } catch {
    throw new StepError({
      message: `reading facts failed (exit ${result.code})${sudoHint(result.stderr)}`,
      command: result.display,
      code: result.code,
      stderrTail: tail(result.stderr),
    });
  }
  pending.forEach(([key, call], i) => {
    const output = outputs[i]!;
    if (output.code !== 0) {
      throw new StepError({ message: `fact ${call.fact.id} failed (exit ${output.code})`, command: result.display, code: output.code, stderrTail: tail(result.stderr) });
    }
    const parsed = call.fact.parse(output.stdout, call.args);
    const refined = session.dryRun && call.fact.refine ? call.fact.refine(parsed, call.args, session.effects) : parsed;
    if (refined instanceof Unknowable) throw refined;
    values[key] = refined;
  });
  return values;
}

async function applyStep(session: HostSession, task: PreparedTask, step: Step): Promise<void> {
  switch (step.kind) {
    case 'exec': {
      const options = { ...(await wrapOptions(session, task)), ...(step.cwd ? { cwd: step.cwd } : {}), ...(step.env ? { env: step.env } : {}) };
      if (step.label) session.emit({ type: 'progress', host: session.host.name, task: task.name, message: step.label });
      const result = await run(session, task, step.command, options, step.stdin);
      if (result.code !== 0) {
        const firstLine = tail(result.stderr, 1) || tail(result.stdout, 1);
        throw new StepError({
          message: `command failed with exit code ${result.code}${firstLine ? `: ${firstLine}` : ''}${sudoHint(result.stderr)}`,
          command: result.display,
          code: result.code,
          stderrTail: tail(result.stderr),
        });
      }
      return;
    }
    case 'upload': {
      const started = Date.now();
      let shown = 0;
      await session.transport.put(step.from, step.to, {
        ...(step.mode ? { mode: step.mode } : {}),
        onProgress: (sent, total) => {
          // A few updates a second are enough for a person; every SFTP chunk would flood the listeners.
          if (sent < total && Date.now() - shown < 250) return;
          shown = Date.now();
          const seconds = Math.max((Date.now() - started) / 1000, 0.001);
          const mb = (n: number) => (n / 1048576).toFixed(1);
          session.emit({ type: 'progress', host: session.host.name, task: task.name, message: `${step.label ?? 'upload'} ${mb(sent)}/${mb(total)} MB, ${mb(sent / seconds)} MB/s` });
        },
      });
      return;
    }
  }
}

function decideContext(session: HostSession, task: PreparedTask, vars: Readonly<Record<string, unknown>>): DecideContext {
  return {
    host: hostView(session.host),
    vars,
    dryRun: session.dryRun,
    become: becomes(session, task),
    loginUser: session.host.connection.user,
    now: session.now,
  };
}

function failure(error: unknown): TaskOutcome {
  if (error instanceof StepError) return { status: 'failed', reason: error.detail.message, error: error.detail };
  const message = error instanceof Error ? error.message : String(error);
  return { status: 'failed', reason: message, error: { message } };
}

/**
 * One task on one host: facts, decide, and unless this is a dry-run, act. Transport failures are
 * not task failures: they propagate so the host is marked unreachable.
 */
export async function runTask(session: HostSession, task: PreparedTask, vars: Readonly<Record<string, unknown>>): Promise<TaskOutcome> {
  if (task.task.common.when === false) return { status: 'skipped', reason: 'when is false' };
  const context = decideContext(session, task, vars);
  let decision: Decision;
  try {
    const facts = await gatherFacts(session, task, task.module.facts(task.plan, context));
    decision = task.module.decide(task.plan, facts as never, context);
  } catch (error) {
    if (error instanceof TransportError) throw error;
    if (error instanceof Unknowable) {
      // Never a failure in a dry-run: the plan says what it cannot know and counts it as a change.
      if (task.module.isCheck?.(task.task.options)) return { status: 'ok', reason: `depends on an earlier change: ${error.because}; would check then` };
      return { status: 'changed', reason: `depends on an earlier change: ${error.because}; assumed to change` };
    }
    if (error instanceof TaskFailure || error instanceof StepError) return failure(error);
    throw error;
  }
  if (decision.kind === 'noop') return { status: 'ok', reason: decision.reason };
  const diff = decision.diff;
  const status = decision.changes === false ? 'ok' : 'changed';
  if (session.dryRun) {
    for (const effect of decision.effects ?? []) session.effects.record(effect, task.name);
    return { status, reason: decision.reason, ...(diff ? { diff } : {}) };
  }
  try {
    for (const step of decision.steps) await applyStep(session, task, step);
  } catch (error) {
    // A file that cannot be uploaded fails the task; a connection that is gone makes the host unreachable.
    if (error instanceof TransportError && error.kind === 'io') return { status: 'failed', reason: error.message, error: { message: error.message } };
    if (error instanceof TransportError) throw error;
    if (error instanceof StepError) return { ...failure(error), ...(diff ? { diff } : {}) };
    throw error;
  }
  return { status, reason: decision.reason, ...(diff ? { diff } : {}) };
}
