/**
 * JSON Lines for machines: one object per line and nothing else on stdout, so `| jq` works.
 * Field order is fixed by construction so output diffs cleanly between runs.
 */
import type { RunListener } from '../engine/events.js';

export interface JsonOptions {
  /** Also emit each command run with its output, as -v does for humans. */
  verbose?: boolean;
}

export function jsonListener(out: NodeJS.WritableStream, opts: JsonOptions = {}): RunListener {
  const emit = (value: Record<string, unknown>): void => {
    out.write(`${JSON.stringify(value)}\n`);
  };

  return (event) => {
    switch (event.type) {
      case 'run-start':
        // Emitted so a consumer knows it is reading a dry run before the recap arrives.
        emit({ type: 'run', playbook: event.playbook, dryRun: event.dryRun, hosts: event.hosts });
        break;
      case 'play-start':
        emit({ type: 'play', name: event.play, hosts: event.hosts });
        break;
      case 'task':
        // JSON.stringify drops undefined, which keeps the optional keys absent rather than null.
        emit({
          type: 'task',
          host: event.host,
          play: event.play,
          task: event.task,
          status: event.status,
          reason: event.reason,
          diff: event.diff,
          handler: event.handler ? true : undefined,
          ignored: event.ignored ? true : undefined,
          error: event.error,
          durationMs: event.durationMs,
        });
        break;
      case 'unreachable':
        emit({ type: 'unreachable', host: event.host, message: event.message });
        break;
      case 'command':
        if (opts.verbose) {
          emit({
            type: 'command',
            host: event.host,
            task: event.task,
            command: event.command,
            code: event.code,
            stdout: event.stdout,
            stderr: event.stderr,
          });
        }
        break;
      case 'recap': {
        const hosts: Record<string, unknown> = {};
        for (const [name, r] of Object.entries(event.hosts)) {
          hosts[name] = {
            ok: r.ok,
            changed: r.changed,
            failed: r.failed,
            skipped: r.skipped,
            unreachable: r.unreachable,
            ignored: r.ignored,
          };
        }
        emit({ type: 'recap', dryRun: event.dryRun, hosts, durationMs: event.durationMs });
        break;
      }
      case 'task-start':
      case 'progress':
      case 'play-end':
        break;
    }
  };
}
