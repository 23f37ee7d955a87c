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


/** `~` and `~/x` to the home directory; `~user` is left alone, as nothing here can look users up. */
export function expandTilde(value: string, home: string): string {
  if (value === '~') return home;
  if (value.startsWith('~/')) return path.join(home, value.slice(2));
  return value;
}
