import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { displayPath } from '../util/display-path.js';

// This file is <package>/src/playbook/origin.ts, or <package>/dist/playbook/origin.js whose source map
// points back into src/: frames in either are ours.
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OWN = [path.join(PACKAGE_ROOT, 'src') + path.sep, path.join(PACKAGE_ROOT, 'dist') + path.sep];

/**
 * "file:line" of the first stack frame outside is-provision: where the playbook called a builder.
 * Errors about a task can then point at the line the user wrote.
 */
export function callerOrigin(): string | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const frame of stack) {
    const match = /\(?((?:file:\/\/)?[^()\s]+):(\d+):\d+\)?$/.exec(frame.trim());
    if (!match) continue;
    let file = match[1]!;
    if (file.startsWith('file://')) file = fileURLToPath(file);
    if (file.startsWith('node:') || file.includes('/node_modules/')) continue;
    if (OWN.some((dir) => file.startsWith(dir))) continue;
    return `${displayPath(file)}:${match[2]}`;
  }
  return undefined;
}
