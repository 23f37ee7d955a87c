/**
 * Tiny ANSI helpers. Hand-rolled so output/ needs no colour dependency of its own and so
 * "colour off" is an explicit flag the tests can pin, not a guess made at import time.
 */
const CODES = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  magenta: [35, 39],
  bold: [1, 22],
  dim: [2, 22],
} as const;

export type StyleName = keyof typeof CODES;
export type Paint = (style: StyleName, text: string) => string;

export function painter(enabled: boolean): Paint {
  if (!enabled) return (_style, text) => text;
  return (style, text) => {
    const [open, close] = CODES[style];
    return text === '' ? text : `\u001b[${open}m${text}\u001b[${close}m`;
  };
}

/**
 * Whether to colour a stream. FORCE_COLOR wins over NO_COLOR (as in Node's own
 * tty.getColorDepth), so a CI job can force colour even where NO_COLOR is set globally.
 */
export function colorEnabled(
  stream: { isTTY?: boolean } | NodeJS.WritableStream,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  const noColor = env['NO_COLOR'];
  if (noColor !== undefined && noColor !== '') return false;
  if (env['TERM'] === 'dumb') return false;
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/** Human durations short enough for one-line summaries: 850ms, 12.3s, 2m 05s, 1h 02m. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalSeconds = Math.round(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
}

/** Splits text into lines, dropping the empty line a trailing newline would leave. */
export function textLines(text: string): string[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function writeLines(out: NodeJS.WritableStream, lines: readonly string[]): void {
  if (lines.length === 0) return;
  out.write(lines.map((line) => `${line}\n`).join(''));
}

/** Resolves once everything written so far has been handed to the OS, so exit cannot cut it off. */
export function flush(out: NodeJS.WritableStream): Promise<void> {
  const state = out as { writableEnded?: boolean; destroyed?: boolean };
  if (state.writableEnded === true || state.destroyed === true) return Promise.resolve();
  return new Promise((resolve) => {
    out.write('', () => resolve());
  });
}
