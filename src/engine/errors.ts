import type { TaskError } from './events.js';

/** Bad usage or bad input: nothing ran on any host. Exit code 2. */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** Some task failed or some host was unreachable. Exit code 1. */
export class RunFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunFailed';
  }
}

/** A step that failed on a host: the masked command, its exit code and the tail of stderr. */
export class StepError extends Error {
  readonly detail: TaskError;
  constructor(detail: TaskError) {
    super(detail.message);
    this.name = 'StepError';
    this.detail = detail;
  }
}

export function tail(text: string, lines = 10): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}
