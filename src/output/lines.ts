/**
 * Line formatting shared by the plain listener and the live view's after-play transcript,
 * so a failure or diff reads the same whichever view printed it.
 */
import type { RunEvent, TaskStatus } from '../engine/events.js';
import { formatDuration, textLines, type Paint, type StyleName } from './style.js';

export type TaskEvent = Extract<RunEvent, { type: 'task' }>;
export type CommandEvent = Extract<RunEvent, { type: 'command' }>;

const STATUS_STYLE: Record<TaskStatus, StyleName> = {
  ok: 'green',
  changed: 'yellow',
  failed: 'red',
  skipped: 'cyan',
};

const DETAIL = '  ';

export function playLine(name: string, hosts: readonly string[], paint: Paint): string {
  return `${paint('bold', `PLAY [${name}]`)} hosts: ${hosts.length > 0 ? hosts.join(', ') : '(none)'}`;
}

export function dryRunBanner(paint: Paint): string {
  return paint('magenta', 'DRY RUN: nothing will be changed');
}

export function unreachableLine(host: string, message: string, paint: Paint): string {
  return `${paint('red', 'unreachable:')} [${host}] ${message}`;
}

/** The head line plus failure details, diff and the ignoring marker for one finished task. */
export function taskLines(e: TaskEvent, paint: Paint, verbose: boolean): string[] {
  const style = STATUS_STYLE[e.status];
  // A failure's own message says more than the generic reason the engine may have set.
  const why = e.status === 'failed' && e.error?.message ? e.error.message : e.reason;
  // Marked on every line, not once per block: hosts run concurrently, so handler and task lines interleave.
  const handler = e.handler ? `${paint('bold', 'HANDLER')} ` : '';
  let head = `${paint(style, `${e.status}:`)} [${e.host}] ${handler}${e.task}`;
  if (why) head += ` — ${why}`;
  if (verbose) head += paint('dim', ` (${formatDuration(e.durationMs)})`);
  const lines = [head];
  if (e.status === 'failed' && e.error) lines.push(...errorLines(e.error, paint));
  if (e.diff) lines.push(...diffLines(e.diff, paint));
  if (e.ignored) lines.push(paint('cyan', '...ignoring'));
  return lines;
}

function errorLines(error: NonNullable<TaskEvent['error']>, paint: Paint): string[] {
  const lines: string[] = [];
  if (error.command) {
    const [first = '', ...rest] = textLines(error.command);
    lines.push(`${DETAIL}command: ${first}`, ...rest.map((l) => `${DETAIL}         ${l}`));
  }
  if (error.code !== undefined) lines.push(`${DETAIL}exit code: ${error.code}`);
  if (error.stderrTail) lines.push(...streamLines('stderr', error.stderrTail, paint));
  return lines;
}

/** Each stream line is prefixed rather than indented so it stays greppable and its own indentation survives. */
function streamLines(name: 'stdout' | 'stderr', text: string, paint: Paint): string[] {
  return textLines(text).map((l) => `${DETAIL}${paint('dim', `${name} |`)} ${l}`);
}

export function diffLines(diff: string, paint: Paint): string[] {
  return textLines(diff).map((l) => DETAIL + paintDiffLine(l, paint));
}

function paintDiffLine(line: string, paint: Paint): string {
  if (line.startsWith('+++') || line.startsWith('---') || line.startsWith('Index:') || line.startsWith('===')) {
    return paint('bold', line);
  }
  if (line.startsWith('+')) return paint('green', line);
  if (line.startsWith('-')) return paint('red', line);
  if (line.startsWith('@@')) return paint('cyan', line);
  if (line.startsWith('\\')) return paint('dim', line);
  return line;
}

export function commandLines(e: CommandEvent, paint: Paint): string[] {
  const [first = '', ...rest] = textLines(e.command);
  const lines = [`${paint('dim', `[${e.host}]`)} $ ${first}`, ...rest.map((l) => `${DETAIL}  ${l}`)];
  const code = `exit code: ${e.code}`;
  lines.push(`${DETAIL}${e.code === 0 ? code : paint('red', code)}`);
  if (e.stdout) lines.push(...streamLines('stdout', e.stdout, paint));
  if (e.stderr) lines.push(...streamLines('stderr', e.stderr, paint));
  return lines;
}
