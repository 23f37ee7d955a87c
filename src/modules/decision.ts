import type { Shell } from '../shell/quote.js';
import type { Secret } from '../shell/secret.js';
import type { Effect } from '../facts/effects.js';

/** One thing the engine does on a host to carry out a change. Modules only describe steps. */
export type Step =
  | {
      kind: 'exec';
      command: Shell;
      /** Bytes for the command's stdin (file content, say): never on the command line. */
      stdin?: string | Buffer;
      cwd?: string;
      env?: Record<string, string | number | Secret>;
      /** Shown in the live view while the step runs. */
      label?: string;
    }
  | {
      kind: 'upload';
      /** Absolute local path. */
      from: string;
      /** Remote path, written as the login user; a later exec step moves it into place. */
      to: string;
      mode?: string;
      label?: string;
    };

export type Decision =
  | { kind: 'noop'; reason: string }
  | {
      kind: 'change';
      reason: string;
      diff?: string;
      steps: Step[];
      effects?: Effect[];
      /** false: the steps only check (wait for a port, say) and change nothing: reported ok. */
      changes?: boolean;
    };

export const noop = (reason: string): Decision => ({ kind: 'noop', reason });

export function change(reason: string, steps: Step[], extra: { diff?: string; effects?: Effect[] } = {}): Decision {
  return { kind: 'change', reason, steps, ...extra };
}

/** Steps that only check the host, such as waiting for a port: run like a change, reported as ok. */
export function check(reason: string, steps: Step[], effects?: Effect[]): Decision {
  return { kind: 'change', reason, steps, changes: false, ...(effects ? { effects } : {}) };
}

/** Thrown by decide() when the task cannot succeed as written on this host (a missing file, say). */
export class TaskFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskFailure';
  }
}
