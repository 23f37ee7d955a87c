import { sh } from '../shell/quote.js';
import { defineFact, Unknowable } from './define.js';
import { parentOf, type EffectView } from './effects.js';

export type PathType = 'file' | 'directory' | 'link' | 'other' | 'absent';

export interface FileFact {
  path: string;
  type: PathType;
  /** Four octal digits, e.g. "0644". */
  mode?: string;
  owner?: string;
  group?: string;
  size?: number;
  sha256?: string;
  /** The bytes, for regular files up to the size limit (for diffs and line edits). */
  content?: Buffer;
  /** What the parent directory is. */
  parent: 'directory' | 'absent' | 'other';
  /** Answered from an earlier planned change rather than from the host. */
  planned?: string;
  /** In a dry-run: missing now, but a package an earlier task installs may bring it (or its directory). */
  mayComeWith?: string;
}

export interface FileFactArgs {
  path: string;
  /** Read the content of regular files up to this many bytes; 0 = never. */
  maxContent?: number;
}

const DEFAULT_MAX_CONTENT = 1024 * 1024;

function parse(stdout: string, args: FileFactArgs): FileFact {
  const fields = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const type = (fields.get('type') ?? 'absent') as PathType;
  const fact: FileFact = {
    path: args.path,
    type,
    parent: (fields.get('parent') ?? 'absent') as FileFact['parent'],
  };
  if (type !== 'absent') {
    const [mode, owner, group, size] = (fields.get('stat') ?? '').split(' ');
    if (mode) fact.mode = mode.padStart(4, '0');
    if (owner) fact.owner = owner;
    if (group) fact.group = group;
    if (size) fact.size = Number(size);
  }
  const sha = fields.get('sha256');
  if (sha) fact.sha256 = sha;
  if (fields.has('content')) fact.content = Buffer.from(fields.get('content')!, 'base64');
  return fact;
}

function fromEffects(args: FileFactArgs, effects: EffectView): FileFact | Unknowable | undefined {
  const own = effects.path(args.path);
  const parentPath = parentOf(args.path);
  const parentEffect = parentPath === undefined ? undefined : effects.path(parentPath);
  const parent: FileFact['parent'] | undefined =
    parentEffect === undefined ? undefined : parentEffect.state === 'directory' ? 'directory' : parentEffect.state === 'absent' ? 'absent' : undefined;
  if (own) {
    // A command's `creates` path: something will be there, of a kind nobody can know yet.
    if (own.state === 'exists') return new Unknowable(`${args.path} is made by "${own.by ?? 'an earlier task'}"`);
    // Only its size is planned: enough for callers that read no content (maxContent 0: does it exist,
    // which mode), not for those that compare or edit the bytes.
    const opaque = own.state === 'file' && own.content === undefined && own.sha256 === undefined && own.size !== undefined;
    if (opaque && (args.maxContent ?? DEFAULT_MAX_CONTENT) !== 0) {
      return new Unknowable(`the content of ${args.path} comes from "${own.by ?? 'an earlier task'}" and is not known before it runs`);
    }
    // Only mode or owner planned: the host still knows the content; refine() lays the plan over it.
    if (own.state === 'file' && own.content === undefined && !opaque) return undefined;
    const type: PathType = own.state;
    return {
      path: args.path,
      type,
      parent: parent ?? 'directory',
      planned: `"${own.by ?? 'an earlier task'}"`,
      ...(own.mode ? { mode: own.mode } : {}),
      ...(own.owner ? { owner: own.owner } : {}),
      ...(own.group ? { group: own.group } : {}),
      ...(own.sha256 ? { sha256: own.sha256 } : {}),
      ...(own.content ? { content: own.content, size: own.content.length } : own.size !== undefined ? { size: own.size } : {}),
    };
  }
  const ancestor = effects.ancestor(args.path);
  if (ancestor && (ancestor.state === 'absent' || (ancestor.state === 'directory' && ancestor.fresh))) {
    const parentMade = ancestor.state === 'directory' && ancestor.path === parentPath;
    return { path: args.path, type: 'absent', parent: parentMade ? 'directory' : 'absent', planned: `"${ancestor.by ?? 'an earlier task'}"` };
  }
  return undefined;
}

/**
 * In a dry-run, after the host answered: a mode or owner planned by an earlier task is laid over the
 * real file, and a path missing now is marked as one that may come with a package an earlier task
 * installs. Creating modules go on (their directory will be there or be made); editing modules turn
 * that mark into an Unknowable.
 */
function refine(value: FileFact, args: FileFactArgs, effects: EffectView): FileFact | Unknowable {
  const own = effects.path(args.path);
  if (own && own.state === 'file' && value.type === 'file') {
    const planned = `"${own.by ?? 'an earlier task'}"`;
    return { ...value, planned, ...(own.mode ? { mode: own.mode } : {}), ...(own.owner ? { owner: own.owner } : {}), ...(own.group ? { group: own.group } : {}) };
  }
  if (value.type !== 'absent' || value.planned) return value;
  const install = effects.installs()[0];
  if (!install) return value;
  return { ...value, mayComeWith: `package ${install.name} ("${install.by ?? 'an earlier task'}")` };
}

/**
 * A path's type, mode, owner, group, size, sha256, the parent directory and, for small files, the content.
 * A file the user cannot read has neither sha256 nor content (rather than the content of an empty file).
 */
export const fileFact = defineFact<FileFactArgs, FileFact>({
  id: 'file',
  command: ({ path, maxContent = DEFAULT_MAX_CONTENT }) => sh`p=${path}
if [ -L "$p" ] && [ ! -e "$p" ]; then t=link; elif [ -d "$p" ]; then t=directory; elif [ -f "$p" ]; then t=file; elif [ -e "$p" ]; then t=other; else t=absent; fi
echo "type=$t"
d=$(dirname -- "$p"); if [ -d "$d" ]; then echo parent=directory; elif [ -e "$d" ]; then echo parent=other; else echo parent=absent; fi
if [ "$t" != absent ]; then echo "stat=$(stat -L -c '%a %U %G %s' -- "$p" 2>/dev/null || stat -c '%a %U %G %s' -- "$p")"; fi
if [ "$t" = file ] && [ -r "$p" ]; then
  echo "sha256=$(sha256sum < "$p" | cut -d' ' -f1)"
  if [ "$(stat -L -c %s -- "$p")" -le ${maxContent} ]; then printf 'content='; base64 < "$p" | tr -d '\\n'; echo; fi
fi`,
  parse,
  fromEffects,
  refine,
});
