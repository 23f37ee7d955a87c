/**
 * `copy`: puts content into a file on the host.
 *
 * Options:
 * - `dest` (required): the file on the host.
 * - `content`: the text or bytes to write; or
 * - `src`: a local file to send, relative to the playbook's directory (then its parent).
 * - `mode`: octal mode such as "0644"; new files default to 0644, existing files keep theirs.
 * - `owner`, `group`: names to chown to; default: unchanged (new files: the user who writes them).
 * - `backup`: keep the previous file beside it as `<dest>.<timestamp>~`.
 *
 * Compared by sha256 on the host; written to a temp file in the same directory and renamed, so a
 * reader never sees half a file. The content travels over stdin, never on a command line.
 *
 * @example
 * copy({ dest: '/etc/motd', content: `Managed by is-provision on ${host.name}\n`, mode: '0644' })
 */
import { fileFact, type FileFact } from '../facts/file.js';
import { buildTask } from '../playbook/define.js';
import { normalizeMode, type OptionsSchema } from '../playbook/options.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import { isSecret, type Secret } from '../shell/secret.js';
import { change, noop, TaskFailure, type Decision } from './decision.js';
import { defineModule, type DecideContext } from './define.js';
import { atomicWrite, attributeCommands, fileDiff, sha256, DEFAULT_FILE_MODE } from './file-commands.js';

export interface CopyOptions {
  dest: string;
  /** A Secret is written as its value (and masked in diffs). */
  content?: string | Buffer | Secret;
  src?: string;
  mode?: string | number;
  owner?: string;
  group?: string;
  backup?: boolean;
}

/** What copy and template plan with: the content in hand. */
export interface FileContentPlan {
  dest: string;
  content: Buffer;
  mode?: string;
  owner?: string;
  group?: string;
  backup?: boolean;
}

export const COPY_SCHEMA: OptionsSchema = {
  dest: { type: 'string', required: true },
  content: { type: 'any' },
  src: { type: 'string' },
  mode: { type: 'mode' },
  owner: { type: 'string' },
  group: { type: 'string' },
  backup: { type: 'boolean' },
};

const short = (hash: string | undefined): string => (hash ?? '').slice(0, 12);

function backupStamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** The plan shared by copy and template: the content in hand, and the file's wanted attributes. */
export function contentPlan(
  o: { dest: string; mode?: string | number; owner?: string; group?: string; backup?: boolean },
  content: Buffer,
): FileContentPlan {
  return {
    dest: o.dest,
    content,
    ...(o.mode !== undefined ? { mode: normalizeMode(o.mode) } : {}),
    ...(o.owner ? { owner: o.owner } : {}),
    ...(o.group ? { group: o.group } : {}),
    ...(o.backup ? { backup: true } : {}),
  };
}

/** The decision shared by copy and template: same content, mode and owner, or what to write. */
export function decideFileContent(plan: FileContentPlan, fact: FileFact, context: DecideContext): Decision {
  const { dest, content } = plan;
  if (fact.type === 'directory') throw new TaskFailure(`${dest} is a directory`);
  if (fact.type === 'absent' && fact.parent !== 'directory' && !fact.mayComeWith) {
    throw new TaskFailure(`cannot create ${dest}: directory ${dest.replace(/\/[^/]*$/, '') || '/'} does not exist`);
  }
  const hash = sha256(content);
  const mode = plan.mode ?? (fact.type === 'file' ? fact.mode : DEFAULT_FILE_MODE);
  const effect = {
    kind: 'path' as const,
    path: dest,
    state: 'file' as const,
    sha256: hash,
    content,
    ...(mode ? { mode } : {}),
    ...(plan.owner ?? fact.owner ? { owner: plan.owner ?? fact.owner } : {}),
    ...(plan.group ?? fact.group ? { group: plan.group ?? fact.group } : {}),
  };
  const write = { mode: plan.mode, owner: plan.owner, group: plan.group, ...(plan.backup ? { backupStamp: backupStamp(context.now) } : {}) };
  const planned = fact.planned
    ? ` (as ${fact.planned} leaves it)`
    : fact.mayComeWith && fact.parent !== 'directory'
      ? ` (its directory may come with ${fact.mayComeWith})`
      : '';
  if (fact.type !== 'file' || fact.sha256 !== hash) {
    const reason =
      fact.type === 'file'
        ? `${dest} content differs (sha256 ${short(fact.sha256)} → ${short(hash)})${planned}`
        : `${dest} would be created${fact.type === 'link' ? ' in place of a dangling link' : ''} (${content.length} bytes)${planned}`;
    return change(reason, [{ kind: 'exec', command: atomicWrite(dest, fact, write), stdin: content, label: `write ${dest}` }], {
      diff: fileDiff(dest, fact, content),
      effects: [effect],
    });
  }
  const { commands, changes } = attributeCommands(dest, fact, write);
  if (commands.length === 0) return noop(`${dest} matches (sha256 ${short(hash)}, mode ${fact.mode ?? '?'})${planned}`);
  return change(
    `${dest} ${changes.join(', ')}`,
    commands.map((command) => ({ kind: 'exec' as const, command })),
    { effects: [effect] },
  );
}

export const copyModule = defineModule<CopyOptions, FileContentPlan, { dest: ReturnType<typeof fileFact> }>({
  name: 'copy',
  schema: COPY_SCHEMA,
  describe: (o) => `copy ${o.src ? `${o.src} → ` : ''}${o.dest}`,
  async prepare(o, context) {
    const content =
      o.src !== undefined
        ? await context.readLocal(o.src)
        : Buffer.isBuffer(o.content)
          ? o.content
          : Buffer.from(isSecret(o.content) ? o.content.reveal() : String(o.content));
    return contentPlan(o, content);
  },
  facts: (plan) => ({ dest: fileFact({ path: plan.dest }) }),
  decide: (plan, facts, context) => decideFileContent(plan, facts.dest, context),
});

function check(o: CopyOptions): string | undefined {
  if ((o.content === undefined) === (o.src === undefined)) return 'give exactly one of "content" and "src"';
  if (o.content !== undefined && typeof o.content !== 'string' && !Buffer.isBuffer(o.content) && !isSecret(o.content)) {
    return 'option "content" must be a string, a Buffer or a secret';
  }
  if (!o.dest.startsWith('/')) return `dest must be an absolute path, not ${JSON.stringify(o.dest)}`;
  return undefined;
}

/** Puts content (or a local file) into a file on the host. See the module's TSDoc above. */
export function copy(options: CopyOptions & CommonOptions): Task<CopyOptions> {
  return buildTask('copy', COPY_SCHEMA, options, check);
}
