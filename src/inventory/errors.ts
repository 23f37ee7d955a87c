import path from 'node:path';

/**
 * Any problem with an inventory or the ssh_config it reads. The message is one line that starts with
 * `file:line:column:` (as much of it as is known) so editors and terminals can jump to the spot.
 */
export class InventoryError extends Error {
  /** The file as shown in the message: relative to the working directory when under it, else ~/… or absolute. */
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  /** The message without the location prefix. */
  readonly reason: string;

  constructor(file: string, reason: string, line?: number, column?: number) {
    const oneLine = reason.replace(/\s*\r?\n\s*/g, ' ');
    const at = line === undefined ? file : column === undefined ? `${file}:${line}` : `${file}:${line}:${column}`;
    super(`${at}: ${oneLine}`);
    this.name = 'InventoryError';
    this.file = file;
    this.line = line;
    this.column = column;
    this.reason = oneLine;
  }
}

/** Optimal-string-alignment distance: Levenshtein plus adjacent swaps, the commonest typo. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const up = rows[i - 1] ?? [];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((up[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (up[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? Math.max(a.length, b.length);
}

/** The candidate closest to name, if it is close enough to be a plausible typo. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = name.toLowerCase();
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.max(1, Math.floor(name.length / 3));
  return best !== undefined && bestDistance <= limit && bestDistance < name.length ? best : undefined;
}

/** ` (did you mean "x"?)`, or nothing when no candidate is close. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const suggestion = closest(name, candidates);
  return suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
}

/** How a path is shown to the user: short enough to read, exact enough to open. */
export function displayPath(file: string, cwd: string, home: string): string {
  const fromCwd = path.relative(cwd, file);
  if (fromCwd !== '' && !fromCwd.startsWith('..') && !path.isAbsolute(fromCwd)) return fromCwd;
  const fromHome = path.relative(home, file);
  if (fromHome !== '' && !fromHome.startsWith('..') && !path.isAbsolute(fromHome)) return `~/${fromHome}`;
  return file;
}

/** `~` and `~/x` to the home directory; `~user` is left alone, as nothing here can look users up. */
export function expandTilde(value: string, home: string): string {
  if (value === '~') return home;
  if (value.startsWith('~/')) return path.join(home, value.slice(2));
  return value;
}
