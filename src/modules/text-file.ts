import { fileFact, type FileFact } from '../facts/file.js';
import { Unknowable } from '../facts/define.js';
import { TaskFailure, change, noop, type Decision } from './decision.js';
import { atomicWrite, fileDiff, sha256 } from './file-commands.js';

/** Text files that modules edit line by line are read whole; this keeps the fact small. */
export const TEXT_EDIT_LIMIT = 4 * 1024 * 1024;

export const textFileFact = (path: string) => fileFact({ path, maxContent: TEXT_EDIT_LIMIT });

/** The lines of a text file and whether it ended with a newline. */
export interface TextLines {
  lines: string[];
  trailingNewline: boolean;
}

export function splitLines(text: string): TextLines {
  if (text === '') return { lines: [], trailingNewline: true };
  const trailingNewline = text.endsWith('\n');
  const lines = (trailingNewline ? text.slice(0, -1) : text).split('\n');
  return { lines, trailingNewline };
}

export function joinLines({ lines }: TextLines): string {
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

/** The current text of a file to edit, or undefined when it does not exist (failing where it cannot be read). */
export function currentText(path: string, fact: FileFact): string | undefined {
  if (fact.type === 'absent' && fact.mayComeWith) throw new Unknowable(`${path} does not exist yet and may come with ${fact.mayComeWith}`);
  if (fact.type === 'absent') return undefined;
  if (fact.type !== 'file') throw new TaskFailure(`${path} is not a regular file (${fact.type})`);
  if (fact.content === undefined) {
    if (fact.planned !== undefined) throw new TaskFailure(`${path}: its content after ${fact.planned} is not known in a dry-run`);
    if (fact.sha256 === undefined) throw new TaskFailure(`${path} cannot be read (permission denied?)`);
    throw new TaskFailure(`${path} is larger than ${TEXT_EDIT_LIMIT} bytes; too large to edit line by line`);
  }
  return fact.content.toString('utf8');
}

/** The decision for an edit whose new text is known: write it atomically, keeping mode and owner. */
export function writeText(path: string, fact: FileFact, next: string, reason: string, unchanged: string): Decision {
  const content = Buffer.from(next);
  if (fact.type === 'file' && fact.sha256 === sha256(content)) return noop(unchanged);
  if (fact.type === 'absent' && fact.parent !== 'directory' && !fact.mayComeWith) {
    throw new TaskFailure(`cannot create ${path}: its directory does not exist`);
  }
  return change(reason, [{ kind: 'exec', command: atomicWrite(path, fact, {}), stdin: content, label: `write ${path}` }], {
    diff: fileDiff(path, fact, content),
    effects: [
      {
        kind: 'path',
        path,
        state: 'file',
        content,
        sha256: sha256(content),
        ...(fact.mode ? { mode: fact.mode } : {}),
        ...(fact.owner ? { owner: fact.owner } : {}),
        ...(fact.group ? { group: fact.group } : {}),
      },
    ],
  });
}
