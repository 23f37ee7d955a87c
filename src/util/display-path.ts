import { homedir } from 'node:os';
import path from 'node:path';

/**
 * How a path is shown to the user in errors: relative to the current directory when below it, else
 * `~/…` when below the home directory, else absolute. Short enough to read, exact enough to open.
 */
export function displayPath(file: string, cwd = process.cwd(), home = homedir()): string {
  const fromCwd = path.relative(cwd, file);
  if (fromCwd !== '' && !fromCwd.startsWith('..') && !path.isAbsolute(fromCwd)) return fromCwd;
  const fromHome = path.relative(home, file);
  if (fromHome !== '' && !fromHome.startsWith('..') && !path.isAbsolute(fromHome)) return `~/${fromHome}`;
  return file;
}
