/**
 * `file`: makes a path a directory, an existing file, a new empty file, or absent, with mode and owner.
 *
 * Options:
 * - `path` (required): the path on the host.
 * - `state`: `directory` (made with parents), `file` (must exist; only attributes change),
 *   `touch` (created empty when missing; an existing file keeps its content and times, so re-runs
 *   report ok), or `absent` (removed, recursively). Default `file`.
 * - `mode`: octal mode such as "0755".
 * - `owner`, `group`: names to chown to.
 *
 * @example
 * file({ path: '/opt/app', state: 'directory', mode: '0755', owner: 'app' })
 */
import { fileFact, type FileFact } from '../facts/file.js';
import { buildTask } from '../playbook/define.js';
import { normalizeMode, type OptionsSchema } from '../playbook/options.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import { sh } from '../shell/quote.js';
import { change, noop, TaskFailure, type Decision, type Step } from './decision.js';
import { defineModule } from './define.js';
import { attributeCommands, DEFAULT_FILE_MODE } from './file-commands.js';

export type FileState = 'directory' | 'file' | 'touch' | 'absent';

export interface FileOptions {
  path: string;
  state?: FileState;
  mode?: string | number;
  owner?: string;
  group?: string;
}

const SCHEMA: OptionsSchema = {
  path: { type: 'string', required: true },
  state: { type: 'string', values: ['directory', 'file', 'touch', 'absent'] },
  mode: { type: 'mode' },
  owner: { type: 'string' },
  group: { type: 'string' },
};

const DEFAULT_DIRECTORY_MODE = '0755';

function create(o: FileOptions, fact: FileFact, kind: 'directory' | 'file'): Decision {
  const mode = normalizeMode(o.mode);
  const steps: Step[] = [
    kind === 'directory'
      ? { kind: 'exec', command: sh`mkdir -p -- ${o.path}` }
      : { kind: 'exec', command: sh`: > ${o.path}` },
  ];
  const made = { ...fact, type: kind, mode: kind === 'directory' ? DEFAULT_DIRECTORY_MODE : DEFAULT_FILE_MODE } as FileFact;
  // A new path's mode depends on the umask: a mode the task names is always set, even the default one.
  const { commands } = attributeCommands(o.path, { ...made, mode: undefined, owner: undefined, group: undefined }, {
    mode,
    owner: o.owner,
    group: o.group,
  });
  if (mode === undefined && kind === 'file') commands.unshift(sh`chmod ${DEFAULT_FILE_MODE} -- ${o.path}`);
  steps.push(...commands.map((command) => ({ kind: 'exec' as const, command })));
  if (kind === 'file' && fact.parent !== 'directory' && !fact.mayComeWith) {
    throw new TaskFailure(`cannot create ${o.path}: its directory does not exist`);
  }
  return change(`${o.path} would be created as ${kind === 'directory' ? 'a directory' : 'an empty file'}`, steps, {
    effects: [
      {
        kind: 'path',
        path: o.path,
        state: kind,
        fresh: kind === 'directory',
        mode: mode ?? made.mode,
        ...(kind === 'file' ? { content: Buffer.alloc(0), sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' } : {}),
        ...(o.owner ? { owner: o.owner } : {}),
        ...(o.group ? { group: o.group } : {}),
      },
    ],
  });
}

function attributes(o: FileOptions, fact: FileFact, what: string): Decision {
  const { commands, changes } = attributeCommands(o.path, fact, { mode: normalizeMode(o.mode), owner: o.owner, group: o.group });
  const planned = fact.planned ? ` (as ${fact.planned} leaves it)` : '';
  if (commands.length === 0) return noop(`${o.path} is ${what}${fact.mode ? ` with mode ${fact.mode}` : ''}${planned}`);
  return change(`${o.path} ${changes.join(', ')}`, commands.map((command) => ({ kind: 'exec' as const, command })), {
    effects: [
      {
        kind: 'path',
        path: o.path,
        state: fact.type === 'directory' ? 'directory' : 'file',
        mode: normalizeMode(o.mode) ?? fact.mode,
        // The rest of the path is as it was: later tasks compare against it.
        ...(o.owner ?? fact.owner ? { owner: o.owner ?? fact.owner } : {}),
        ...(o.group ?? fact.group ? { group: o.group ?? fact.group } : {}),
        ...(fact.sha256 ? { sha256: fact.sha256 } : {}),
        ...(fact.content ? { content: fact.content } : {}),
      },
    ],
  });
}

export function decideFile(o: FileOptions, fact: FileFact): Decision {
  const state = o.state ?? 'file';
  switch (state) {
    case 'absent':
      if (fact.type === 'absent') return noop(`${o.path} is absent`);
      return change(`${o.path} would be removed (${fact.type})`, [{ kind: 'exec', command: sh`rm -rf -- ${o.path}` }], {
        effects: [{ kind: 'path', path: o.path, state: 'absent' }],
      });
    case 'directory':
      if (fact.type === 'directory') return attributes(o, fact, 'a directory');
      if (fact.type !== 'absent') throw new TaskFailure(`${o.path} exists and is not a directory (${fact.type})`);
      return create(o, fact, 'directory');
    case 'touch':
      if (fact.type === 'file') return attributes(o, fact, 'a file');
      if (fact.type !== 'absent') throw new TaskFailure(`${o.path} exists and is not a file (${fact.type})`);
      return create(o, fact, 'file');
    case 'file':
      if (fact.type === 'file') return attributes(o, fact, 'a file');
      if (fact.type === 'absent') throw new TaskFailure(`${o.path} does not exist (state "file" only changes attributes; use "touch" or copy to create it)`);
      throw new TaskFailure(`${o.path} exists and is not a file (${fact.type})`);
  }
}

export const fileModule = defineModule<FileOptions, FileOptions, { path: ReturnType<typeof fileFact> }>({
  name: 'file',
  schema: SCHEMA,
  describe: (o) => `file ${o.path} ${o.state ?? 'file'}`,
  facts: (o) => ({ path: fileFact({ path: o.path, maxContent: 0 }) }),
  decide: (o, facts) => decideFile(o, facts.path),
});

/** Makes a path a directory, a file, or absent. See the module's TSDoc above. */
export function file(options: FileOptions & CommonOptions): Task<FileOptions> {
  return buildTask('file', SCHEMA, options, (o) =>
    o.path.startsWith('/') && o.path !== '/' ? undefined : `path must be an absolute path other than "/", not ${JSON.stringify(o.path)}`,
  );
}
