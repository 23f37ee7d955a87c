/**
 * Picks the view for this run and owns the few direct prints the CLI needs, so that no
 * code outside output/ writes to stdout or stderr.
 */
import type { RunListener } from '../engine/events.js';
import { jsonListener } from './json.js';
import { liveListener } from './live.js';
import { plainListener } from './plain.js';
import { colorEnabled, flush, painter } from './style.js';

export interface OutputChoice {
  json: boolean;
  verbose: boolean;
  diff: boolean;
  isTTY: boolean;
  ci: boolean;
  /** Defaults to process.stdout; tests pass a PassThrough. */
  out?: NodeJS.WritableStream;
}

export interface Output {
  /** Which view was picked, for logs and tests. */
  kind: 'json' | 'plain' | 'live';
  listener: RunListener;
  /** Call once the engine has returned (or thrown): the view settles and the recap is out. */
  done(): Promise<void>;
}

export function createOutput(choice: OutputChoice): Output {
  const out = choice.out ?? process.stdout;
  if (choice.json) {
    return { kind: 'json', listener: jsonListener(out, { verbose: choice.verbose }), done: () => flush(out) };
  }
  // Redrawing lines turn into noise in a log file or a CI console, so only a real terminal gets them.
  if (!choice.isTTY || choice.ci) {
    const listener = plainListener(out, { verbose: choice.verbose, diff: choice.diff, color: colorEnabled(out) });
    return { kind: 'plain', listener, done: () => flush(out) };
  }
  return { kind: 'live', ...liveListener({ verbose: choice.verbose, diff: choice.diff, out }) };
}

/** One line to stderr; the stack follows only when given (the CLI passes it for --debug). */
export function printError(message: string, stack?: string): void {
  const paint = painter(colorEnabled(process.stderr));
  process.stderr.write(`${paint('red', 'error:')} ${message}\n`);
  if (stack) process.stderr.write(stack.endsWith('\n') ? stack : `${stack}\n`);
}

export function printLine(text: string): void {
  process.stdout.write(`${text}\n`);
}
