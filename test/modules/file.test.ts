import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideFile, file, type FileOptions } from '../../src/modules/file.js';
import { TaskFailure, type Decision } from '../../src/modules/decision.js';
import type { FileFact } from '../../src/facts/file.js';
import { absent, directory, fileWith, summary } from './helpers.js';

const P = '/opt/app';
const F = '/opt/app/flag';
const EMPTY_SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const link = (path: string): FileFact => ({ path, type: 'link', parent: 'directory', mode: '0777', owner: 'root', group: 'root', size: 5 });

interface Case {
  name: string;
  options: FileOptions;
  fact: FileFact;
  expected: unknown;
  effects?: unknown;
}

const CASES: Case[] = [
  // absent
  { name: 'absent: already absent', options: { path: F, state: 'absent' }, fact: absent(F), expected: { kind: 'noop', reason: '/opt/app/flag is absent' } },
  {
    name: 'absent: a file is removed',
    options: { path: F, state: 'absent' },
    fact: fileWith(F, 'x'),
    expected: { kind: 'change', reason: '/opt/app/flag would be removed (file)', steps: [{ command: 'rm -rf -- /opt/app/flag' }] },
    effects: [{ kind: 'path', path: F, state: 'absent' }],
  },
  {
    name: 'absent: a directory is removed recursively',
    options: { path: P, state: 'absent' },
    fact: directory(P),
    expected: { kind: 'change', reason: '/opt/app would be removed (directory)', steps: [{ command: 'rm -rf -- /opt/app' }] },
  },
  {
    name: 'absent: a path with spaces and quotes',
    options: { path: "/srv/it's here", state: 'absent' },
    fact: link("/srv/it's here"),
    expected: { kind: 'change', reason: "/srv/it's here would be removed (link)", steps: [{ command: `rm -rf -- '/srv/it'\\''s here'` }] },
  },
  // directory
  {
    name: 'directory: created',
    options: { path: P, state: 'directory' },
    fact: absent(P, 'absent'),
    expected: { kind: 'change', reason: '/opt/app would be created as a directory', steps: [{ command: 'mkdir -p -- /opt/app' }] },
    effects: [{ kind: 'path', path: P, state: 'directory', fresh: true, mode: '0755' }],
  },
  {
    name: 'directory: created with the default mode named: chmod anyway (the umask decides otherwise)',
    options: { path: P, state: 'directory', mode: '0755' },
    fact: absent(P),
    expected: {
      kind: 'change',
      reason: '/opt/app would be created as a directory',
      steps: [{ command: 'mkdir -p -- /opt/app' }, { command: 'chmod 0755 -- /opt/app' }],
    },
  },
  {
    name: 'directory: created with mode, owner and group',
    options: { path: P, state: 'directory', mode: 0o750, owner: 'app', group: 'staff' },
    fact: absent(P),
    expected: {
      kind: 'change',
      reason: '/opt/app would be created as a directory',
      steps: [{ command: 'mkdir -p -- /opt/app' }, { command: 'chmod 0750 -- /opt/app' }, { command: 'chown -- app:staff /opt/app' }],
    },
    effects: [{ kind: 'path', path: P, state: 'directory', fresh: true, mode: '0750', owner: 'app', group: 'staff' }],
  },
  { name: 'directory: exists', options: { path: P, state: 'directory' }, fact: directory(P), expected: { kind: 'noop', reason: '/opt/app is a directory with mode 0755' } },
  {
    name: 'directory: exists with the same mode and owner',
    options: { path: P, state: 'directory', mode: '755', owner: 'root' },
    fact: directory(P),
    expected: { kind: 'noop', reason: '/opt/app is a directory with mode 0755' },
  },
  {
    name: 'directory: mode differs',
    options: { path: P, state: 'directory', mode: '0700' },
    fact: directory(P),
    expected: { kind: 'change', reason: '/opt/app mode 0755 → 0700', steps: [{ command: 'chmod 0700 -- /opt/app' }] },
    effects: [{ kind: 'path', path: P, state: 'directory', mode: '0700', owner: 'root', group: 'root' }],
  },
  {
    name: 'directory: owner differs',
    options: { path: P, state: 'directory', owner: 'app' },
    fact: directory(P),
    expected: { kind: 'change', reason: '/opt/app owner root → app', steps: [{ command: 'chown -- app /opt/app' }] },
    effects: [{ kind: 'path', path: P, state: 'directory', mode: '0755', owner: 'app', group: 'root' }],
  },
  // touch
  {
    name: 'touch: created empty with the default mode',
    options: { path: F, state: 'touch' },
    fact: absent(F),
    expected: { kind: 'change', reason: '/opt/app/flag would be created as an empty file', steps: [{ command: ': > /opt/app/flag' }, { command: 'chmod 0644 -- /opt/app/flag' }] },
    effects: [{ kind: 'path', path: F, state: 'file', fresh: false, mode: '0644', content: Buffer.alloc(0), sha256: EMPTY_SHA }],
  },
  {
    name: 'touch: created with the default mode named explicitly',
    options: { path: F, state: 'touch', mode: '0644' },
    fact: absent(F),
    expected: { kind: 'change', reason: '/opt/app/flag would be created as an empty file', steps: [{ command: ': > /opt/app/flag' }, { command: 'chmod 0644 -- /opt/app/flag' }] },
  },
  {
    name: 'touch: created with mode and owner',
    options: { path: F, state: 'touch', mode: '0600', owner: 'app' },
    fact: absent(F),
    expected: {
      kind: 'change',
      reason: '/opt/app/flag would be created as an empty file',
      steps: [{ command: ': > /opt/app/flag' }, { command: 'chmod 0600 -- /opt/app/flag' }, { command: 'chown -- app /opt/app/flag' }],
    },
  },
  {
    name: 'touch: an existing file keeps its content; ok',
    options: { path: F, state: 'touch' },
    fact: fileWith(F, 'data'),
    expected: { kind: 'noop', reason: '/opt/app/flag is a file with mode 0644' },
  },
  {
    name: 'touch: an existing file with another mode',
    options: { path: F, state: 'touch', mode: '0600' },
    fact: fileWith(F, 'data'),
    expected: { kind: 'change', reason: '/opt/app/flag mode 0644 → 0600', steps: [{ command: 'chmod 0600 -- /opt/app/flag' }] },
    effects: [{ kind: 'path', path: F, state: 'file', mode: '0600', owner: 'root', group: 'root', sha256: fileWith(F, 'data').sha256, content: Buffer.from('data') }],
  },
  // file
  { name: 'file: exists', options: { path: F }, fact: fileWith(F, 'x', { mode: '0600' }), expected: { kind: 'noop', reason: '/opt/app/flag is a file with mode 0600' } },
  {
    name: 'file: group differs',
    options: { path: F, state: 'file', group: 'adm' },
    fact: fileWith(F, 'x'),
    expected: { kind: 'change', reason: '/opt/app/flag group root → adm', steps: [{ command: 'chown -- :adm /opt/app/flag' }] },
  },
  {
    name: 'file: mode, owner and group differ',
    options: { path: F, mode: '0640', owner: 'app', group: 'adm' },
    fact: fileWith(F, 'x'),
    expected: {
      kind: 'change',
      reason: '/opt/app/flag mode 0644 → 0640, owner root → app, group root → adm',
      steps: [{ command: 'chmod 0640 -- /opt/app/flag' }, { command: 'chown -- app:adm /opt/app/flag' }],
    },
  },
  {
    name: 'file: answered from a planned change',
    options: { path: F },
    fact: { ...fileWith(F, 'x'), planned: '"write flag"' },
    expected: { kind: 'noop', reason: '/opt/app/flag is a file with mode 0644 (as "write flag" leaves it)' },
  },
];

function effectsOf(decision: Decision): unknown {
  return decision.kind === 'change' ? decision.effects : undefined;
}

for (const c of CASES) {
  test(`file decide: ${c.name}`, () => {
    const decision = decideFile(c.options, c.fact);
    assert.deepEqual(summary(decision), c.expected);
    if (c.effects !== undefined) assert.deepEqual(effectsOf(decision), c.effects);
  });
}

const FAILURES: { name: string; options: FileOptions; fact: FileFact; message: string }[] = [
  { name: 'directory over a file', options: { path: P, state: 'directory' }, fact: fileWith(P, 'x'), message: '/opt/app exists and is not a directory (file)' },
  { name: 'directory over a dangling link', options: { path: P, state: 'directory' }, fact: link(P), message: '/opt/app exists and is not a directory (link)' },
  { name: 'touch over a directory', options: { path: F, state: 'touch' }, fact: directory(F), message: '/opt/app/flag exists and is not a file (directory)' },
  { name: 'touch in a missing directory', options: { path: F, state: 'touch' }, fact: absent(F, 'absent'), message: 'cannot create /opt/app/flag: its directory does not exist' },
  {
    name: 'file that does not exist',
    options: { path: F, state: 'file' },
    fact: absent(F),
    message: '/opt/app/flag does not exist (state "file" only changes attributes; use "touch" or copy to create it)',
  },
  { name: 'file over a directory', options: { path: F }, fact: directory(F), message: '/opt/app/flag exists and is not a file (directory)' },
  { name: 'file over a dangling link', options: { path: F }, fact: link(F), message: '/opt/app/flag exists and is not a file (link)' },
];

for (const c of FAILURES) {
  test(`file decide fails: ${c.name}`, () => {
    assert.throws(() => decideFile(c.options, c.fact), (error: unknown) => {
      assert.ok(error instanceof TaskFailure);
      assert.equal(error.message, c.message);
      return true;
    });
  });
}

const BUILD_ERRORS: { name: string; options: Record<string, unknown>; message: string }[] = [
  { name: 'relative path', options: { path: 'opt/app' }, message: 'file: path must be an absolute path other than "/", not "opt/app"' },
  { name: 'the root', options: { path: '/', state: 'absent' }, message: 'file: path must be an absolute path other than "/", not "/"' },
  { name: 'an unknown state', options: { path: P, state: 'link' }, message: 'file: option "state" must be one of "directory", "file", "touch", "absent", not "link"' },
  { name: 'a bad mode', options: { path: P, mode: '0999' }, message: 'file: option "mode" must be an octal mode such as "0644"' },
  { name: 'a mode too large', options: { path: P, mode: 0o10000 }, message: 'file: option "mode" must be an octal mode such as "0644"' },
];

for (const c of BUILD_ERRORS) {
  test(`file() rejects ${c.name}`, () => {
    assert.throws(() => file(c.options as never), (error: unknown) => {
      assert.equal((error as Error).name, 'PlaybookError');
      assert.ok((error as Error).message.endsWith(c.message), (error as Error).message);
      return true;
    });
  });
}
