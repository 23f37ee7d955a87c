/** What the engine reports. Listeners in output/ print these; the engine prints nothing itself. */
export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped';

export interface TaskError {
  message: string;
  /** The command that failed, secrets masked. */
  command?: string;
  code?: number;
  /** The last lines of stderr. */
  stderrTail?: string;
}

export interface HostRecap {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  ignored: number;
  unreachable: boolean;
}

export type RunEvent =
  | { type: 'run-start'; playbook: string; dryRun: boolean; hosts: string[] }
  | { type: 'play-start'; play: string; hosts: string[] }
  | { type: 'task-start'; host: string; play: string; task: string; handler: boolean }
  | {
      type: 'task';
      host: string;
      play: string;
      task: string;
      status: TaskStatus;
      reason: string;
      diff?: string;
      handler: boolean;
      /** A failure that ignoreErrors let pass. */
      ignored?: boolean;
      error?: TaskError;
      durationMs: number;
    }
  /** Live progress of a long step, such as an upload: shown in the live view only. */
  | { type: 'progress'; host: string; task: string; message: string }
  /** A command run on a host, for -v. */
  | { type: 'command'; host: string; task: string; command: string; code: number; stdout: string; stderr: string }
  | { type: 'unreachable'; host: string; message: string }
  | { type: 'play-end'; play: string }
  | { type: 'recap'; dryRun: boolean; hosts: Record<string, HostRecap>; durationMs: number };

export type RunListener = (event: RunEvent) => void;
