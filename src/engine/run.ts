import { randomBytes } from 'node:crypto';
import type { Host } from '../inventory/types.js';
import type { Transport } from '../transport/types.js';
import { TransportError } from '../transport/types.js';
import { connect } from '../transport/connect.js';
import { EffectStore } from '../facts/effects.js';
import { Masker, type Secret } from '../shell/secret.js';
import type { HostRecap, RunEvent, RunListener } from './events.js';
import type { PreparedHost, PreparedPlay, PreparedTask } from './prepare.js';
import { runTask, type HostSession, type TaskOutcome } from './task-runner.js';
import { maskEvent } from './mask.js';
import { FLUSH_HANDLERS } from '../modules/flush-handlers.js';

export interface RunOptions {
  playbookName: string;
  plays: readonly PreparedPlay[];
  dryRun: boolean;
  /** Show diffs of file changes (always on in a dry-run). */
  diff: boolean;
  forks: number;
  secrets: readonly Secret[];
  listener: RunListener;
  /** Opens a host's connection; tests may give their own. */
  connectHost?: (host: Host) => Promise<Transport>;
}

export interface RunResult {
  recap: Record<string, HostRecap>;
  ok: boolean;
}

interface HostState {
  session?: HostSession;
  recap: HostRecap;
  /** Failed or unreachable: takes no further part in the run. */
  dead: boolean;
}

async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}

function batches<T>(items: readonly T[], size: number | undefined): T[][] {
  if (!size) return [items.slice()];
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs prepared plays over the hosts' connections, emitting events; never throws for a host's failure. */
export async function runPlays(options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const masker = new Masker(options.secrets);
  const emit = (event: RunEvent) => options.listener(masker.empty ? event : maskEvent(event, masker));
  const states = new Map<string, HostState>();
  const allHosts = [...new Set(options.plays.flatMap((p) => p.hosts.map((h) => h.host.name)))];
  for (const name of allHosts) {
    states.set(name, { recap: { ok: 0, changed: 0, failed: 0, skipped: 0, ignored: 0, unreachable: false }, dead: false });
  }
  const nonce = `ISP${randomBytes(8).toString('hex')}`;
  const now = new Date();
  const open = options.connectHost ?? ((host: Host) => connect(host.name, host.connection));
  emit({ type: 'run-start', playbook: options.playbookName, dryRun: options.dryRun, hosts: allHosts });

  const session = async (host: Host, state: HostState): Promise<HostSession | undefined> => {
    if (state.session) return state.session;
    try {
      const transport = await open(host);
      state.session = { host, transport, effects: new EffectStore(), nonce, dryRun: options.dryRun, now, emit };
      return state.session;
    } catch (error) {
      unreachable(host.name, state, error);
      return undefined;
    }
  };
  const unreachable = (name: string, state: HostState, error: unknown) => {
    state.dead = true;
    state.recap.unreachable = true;
    emit({ type: 'unreachable', host: name, message: error instanceof Error ? error.message : String(error) });
  };

  const report = (play: string, host: string, task: PreparedTask, outcome: TaskOutcome, state: HostState, ms: number): void => {
    const ignored = outcome.status === 'failed' && task.task.common.ignoreErrors === true;
    if (ignored) state.recap.ignored++;
    else state.recap[outcome.status]++;
    const diff = options.diff || options.dryRun ? outcome.diff : undefined;
    emit({
      type: 'task',
      host,
      play,
      task: task.name,
      status: outcome.status,
      reason: outcome.reason,
      handler: task.handler,
      durationMs: ms,
      ...(diff ? { diff } : {}),
      ...(ignored ? { ignored: true } : {}),
      ...(outcome.error ? { error: outcome.error } : {}),
    });
  };

  const runHost = async (playName: string, prepared: PreparedHost): Promise<void> => {
    const state = states.get(prepared.host.name)!;
    if (state.dead) return;
    const hostSession = await session(prepared.host, state);
    if (!hostSession) return;
    const notified = new Map<string, string>();
    const runOne = async (task: PreparedTask, reasonPrefix = ''): Promise<TaskOutcome | undefined> => {
      emit({ type: 'task-start', host: prepared.host.name, play: playName, task: task.name, handler: task.handler });
      const t0 = Date.now();
      try {
        const outcome = await runTask(hostSession, task, prepared.vars);
        report(playName, prepared.host.name, task, { ...outcome, reason: reasonPrefix + outcome.reason }, state, Date.now() - t0);
        return outcome;
      } catch (error) {
        if (!(error instanceof TransportError)) throw error;
        unreachable(prepared.host.name, state, error);
        return undefined;
      }
    };
    /** Runs the notified handlers in their declared order; false when the host died doing so. */
    const flush = async (): Promise<boolean> => {
      for (const handler of prepared.handlers) {
        const by = handler.listen.map((name) => notified.get(name)).find((task) => task !== undefined);
        if (by === undefined) continue;
        const outcome = await runOne(handler, `notified by "${by}": `);
        if (!outcome) return false;
        if (outcome.status === 'failed' && !handler.task.common.ignoreErrors) {
          state.dead = true;
          return false;
        }
      }
      notified.clear();
      return true;
    };
    for (const task of prepared.tasks) {
      if (task.module.name === FLUSH_HANDLERS) {
        if (!(await flush())) return;
        continue;
      }
      const outcome = await runOne(task);
      if (!outcome) return;
      if (outcome.status === 'changed') for (const name of task.notify) if (!notified.has(name)) notified.set(name, task.name);
      if (outcome.status === 'failed' && !task.task.common.ignoreErrors) {
        state.dead = true;
        return;
      }
    }
    await flush();
  };

  try {
    for (const { play, hosts } of options.plays) {
      const live = hosts.filter((h) => !states.get(h.host.name)!.dead);
      emit({ type: 'play-start', play: play.name, hosts: live.map((h) => h.host.name) });
      for (const batch of batches(live, play.serial)) {
        await pool(batch, options.forks, (h) => runHost(play.name, h));
        // A rolling change stops when a whole batch failed, so one bad release does not reach every host.
        if (play.serial && batch.every((h) => states.get(h.host.name)!.dead)) break;
      }
      emit({ type: 'play-end', play: play.name });
    }
  } finally {
    await Promise.all([...states.values()].map((s) => s.session?.transport.close().catch(() => undefined)));
  }
  const recap = Object.fromEntries([...states].map(([name, s]) => [name, s.recap]));
  emit({ type: 'recap', dryRun: options.dryRun, hosts: recap, durationMs: Date.now() - started });
  const ok = Object.values(recap).every((r) => r.failed === 0 && !r.unreachable);
  return { recap, ok };
}
