import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import { sh, raw, join, type Shell } from '../shell/quote.js';
import type { FileFact } from '../facts/file.js';

export interface WriteOptions {
  mode?: string;
  owner?: string;
  group?: string;
  /** Keep the previous file beside it as `<dest>.<stamp>~`. */
  backupStamp?: string;
}

/** The mode a new file gets when the task names none. */
export const DEFAULT_FILE_MODE = '0644';

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

function ownerSpec(owner?: string, group?: string): string | undefined {
  if (owner && group) return `${owner}:${group}`;
  if (owner) return owner;
  if (group) return `:${group}`;
  return undefined;
}

/**
 * Writes stdin to `dest` atomically: a temp file in the same directory, its mode and owner set, then
 * renamed over the old file, so a reader never sees half a file. Without mode/owner, an existing file
 * keeps its own.
 */
export function atomicWrite(dest: string, existing: FileFact, options: WriteOptions): Shell {
  const lines: Shell[] = [
    raw('set -e'),
    sh`dest=${dest}`,
    raw(`tmp=$(mktemp "$(dirname -- "$dest")/.is-provision.XXXXXXXX")`),
    raw(`trap 'rm -f -- "$tmp"' EXIT`),
    raw('cat > "$tmp"'),
  ];
  const mode = options.mode ?? (existing.type === 'file' ? existing.mode : DEFAULT_FILE_MODE) ?? DEFAULT_FILE_MODE;
  lines.push(sh`chmod ${mode} "$tmp"`);
  const wanted = ownerSpec(options.owner, options.group);
  if (wanted) lines.push(sh`chown -- ${wanted} "$tmp"`);
  else if (existing.type === 'file' && existing.owner && existing.group) {
    // Keeping the old owner only works as root; as an ordinary user the file is ours either way.
    lines.push(sh`chown -- ${`${existing.owner}:${existing.group}`} "$tmp" 2>/dev/null || :`);
  }
  if (options.backupStamp && existing.type === 'file') {
    lines.push(sh`cp -p -- "$dest" ${`${existing.path}.${options.backupStamp}~`}`);
  }
  lines.push(raw('mv -f -- "$tmp" "$dest"'), raw('trap - EXIT'));
  return join(lines, '\n');
}

/** chmod/chown of an existing path, only for what differs. */
export function attributeCommands(path: string, fact: FileFact, wanted: WriteOptions): { commands: Shell[]; changes: string[] } {
  const commands: Shell[] = [];
  const changes: string[] = [];
  if (wanted.mode && wanted.mode !== fact.mode) {
    commands.push(sh`chmod ${wanted.mode} -- ${path}`);
    changes.push(`mode ${fact.mode ?? '?'} → ${wanted.mode}`);
  }
  const owner = wanted.owner && wanted.owner !== fact.owner ? wanted.owner : undefined;
  const group = wanted.group && wanted.group !== fact.group ? wanted.group : undefined;
  const spec = ownerSpec(owner, group);
  if (spec) {
    commands.push(sh`chown -- ${spec} ${path}`);
    if (owner) changes.push(`owner ${fact.owner ?? '?'} → ${owner}`);
    if (group) changes.push(`group ${fact.group ?? '?'} → ${group}`);
  }
  return { commands, changes };
}

function isText(data: Buffer): boolean {
  return !data.subarray(0, 8192).includes(0);
}

/** A unified diff of a file's old and new content, or a one-line summary where a diff cannot be shown. */
export function fileDiff(path: string, before: FileFact, after: Buffer): string {
  if (before.type === 'file' && before.content === undefined) {
    return `--- ${path}\n+++ ${path}\n(${before.size ?? '?'} bytes, too large to diff; new content ${after.length} bytes)\n`;
  }
  const old = before.type === 'file' ? before.content ?? Buffer.alloc(0) : Buffer.alloc(0);
  if (!isText(old) || !isText(after)) return `--- ${path}\n+++ ${path}\nBinary content differs (${old.length} → ${after.length} bytes)\n`;
  const oldName = before.type === 'absent' ? '/dev/null' : path;
  const patch = createTwoFilesPatch(oldName, path, old.toString('utf8'), after.toString('utf8'), '', '', { context: 3 });
  // The patch opens with "Index:" and/or "====" lines, one or both depending on the file names.
  const lines = patch.split('\n');
  return lines.slice(Math.max(0, lines.findIndex((l) => l.startsWith('--- ')))).join('\n');
}
