import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EffectStore, parentOf, type Effect } from '../../src/facts/effects.js';
import { Unknowable } from '../../src/facts/define.js';
import { fileFact, type FileFact } from '../../src/facts/file.js';

const fromEffects = fileFact.definition.fromEffects!;
const refine = fileFact.definition.refine!;
const content = Buffer.from('planned\n');

/** Effect n of a case is recorded by the task named "task n" (from 1). */
const by = (n: number): string => `"task ${n}"`;

function store(effects: Effect[]): EffectStore {
  const s = new EffectStore();
  effects.forEach((effect, i) => s.record(effect, `task ${i + 1}`));
  return s;
}

interface Case {
  name: string;
  effects: Effect[];
  path: string;
  expected: FileFact | Unknowable | undefined;
}

const CASES: Case[] = [
  { name: 'nothing planned: ask the host', effects: [], path: '/etc/app.conf', expected: undefined },
  {
    name: 'file planned by an earlier copy',
    effects: [{ kind: 'path', path: '/etc/app.conf', state: 'file', content, sha256: 'abc', mode: '0600', owner: 'app', group: 'app' }],
    path: '/etc/app.conf',
    expected: {
      path: '/etc/app.conf',
      type: 'file',
      parent: 'directory',
      planned: by(1),
      mode: '0600',
      owner: 'app',
      group: 'app',
      sha256: 'abc',
      content,
      size: content.length,
    },
  },
  {
    name: 'file planned inside a directory planned fresh',
    effects: [
      { kind: 'path', path: '/opt/app', state: 'directory', fresh: true, mode: '0755' },
      { kind: 'path', path: '/opt/app/a.conf', state: 'file', content, sha256: 'abc' },
    ],
    path: '/opt/app/a.conf',
    expected: { path: '/opt/app/a.conf', type: 'file', parent: 'directory', planned: by(2), sha256: 'abc', content, size: content.length },
  },
  {
    name: 'a fresh directory has nothing in it',
    effects: [{ kind: 'path', path: '/opt/app', state: 'directory', fresh: true, mode: '0755' }],
    path: '/opt/app/app.conf',
    expected: { path: '/opt/app/app.conf', type: 'absent', parent: 'directory', planned: by(1) },
  },
  {
    name: 'below a fresh directory, deeper: the parent is absent too',
    effects: [{ kind: 'path', path: '/opt/app', state: 'directory', fresh: true }],
    path: '/opt/app/conf/app.conf',
    expected: { path: '/opt/app/conf/app.conf', type: 'absent', parent: 'absent', planned: by(1) },
  },
  {
    name: 'a directory that existed (attributes only) tells nothing of its children',
    effects: [{ kind: 'path', path: '/opt/app', state: 'directory', mode: '0700' }],
    path: '/opt/app/app.conf',
    expected: undefined,
  },
  {
    name: 'the directory itself, planned fresh',
    effects: [{ kind: 'path', path: '/opt/app', state: 'directory', fresh: true, mode: '0755' }],
    path: '/opt/app',
    expected: { path: '/opt/app', type: 'directory', parent: 'directory', planned: by(1), mode: '0755' },
  },
  {
    name: 'under an absent ancestor',
    effects: [{ kind: 'path', path: '/srv/old', state: 'absent' }],
    path: '/srv/old/data/x',
    expected: { path: '/srv/old/data/x', type: 'absent', parent: 'absent', planned: by(1) },
  },
  {
    name: 'a direct child of an absent directory',
    effects: [{ kind: 'path', path: '/srv/old', state: 'absent' }],
    path: '/srv/old/x',
    expected: { path: '/srv/old/x', type: 'absent', parent: 'absent', planned: by(1) },
  },
  {
    name: 'the removed path itself',
    effects: [{ kind: 'path', path: '/srv/old', state: 'absent' }],
    path: '/srv/old',
    expected: { path: '/srv/old', type: 'absent', parent: 'directory', planned: by(1) },
  },
  {
    name: "a command's creates path ('exists'): unknowable before the command runs",
    effects: [{ kind: 'path', path: '/var/lib/app/.init', state: 'exists' }],
    path: '/var/lib/app/.init',
    expected: new Unknowable('/var/lib/app/.init is made by "task 1"'),
  },
  {
    name: 'removing a directory forgets what was planned inside it',
    effects: [
      { kind: 'path', path: '/a', state: 'directory', fresh: true },
      { kind: 'path', path: '/a/b', state: 'file', content },
      { kind: 'path', path: '/a', state: 'absent' },
    ],
    path: '/a/b',
    expected: { path: '/a/b', type: 'absent', parent: 'absent', planned: by(3) },
  },
  {
    name: 'removing a sibling with a common prefix does not touch the path',
    effects: [
      { kind: 'path', path: '/a/bc', state: 'file', content },
      { kind: 'path', path: '/a/b', state: 'absent' },
    ],
    path: '/a/bc',
    expected: { path: '/a/bc', type: 'file', parent: 'directory', planned: by(1), content, size: content.length },
  },
  {
    name: 'newest effect wins',
    effects: [
      { kind: 'path', path: '/x', state: 'file', content },
      { kind: 'path', path: '/x', state: 'absent' },
    ],
    path: '/x',
    expected: { path: '/x', type: 'absent', parent: 'directory', planned: by(2) },
  },
  {
    name: 'the parent removed after the file was planned: parent absent',
    effects: [
      { kind: 'path', path: '/d/f', state: 'file', content },
      { kind: 'path', path: '/d', state: 'absent' },
    ],
    path: '/d/f',
    expected: { path: '/d/f', type: 'absent', parent: 'absent', planned: by(2) },
  },
  {
    name: 'unknown and package effects tell nothing about paths',
    effects: [
      { kind: 'unknown', what: 'a command', task: 't' },
      { kind: 'package', name: 'nginx', installed: true },
    ],
    path: '/etc/nginx/nginx.conf',
    expected: undefined,
  },
];

for (const c of CASES) {
  test(`fileFact.fromEffects: ${c.name}`, () => {
    assert.deepEqual(fromEffects({ path: c.path }, store(c.effects)), c.expected);
  });
}

const REFINE: { name: string; effects: Effect[]; value: FileFact; expected: FileFact | Unknowable }[] = [
  {
    name: 'a present file is as the host says',
    effects: [{ kind: 'package', name: 'nginx', installed: true }],
    value: { path: '/etc/x', type: 'file', parent: 'directory' },
    expected: { path: '/etc/x', type: 'file', parent: 'directory' },
  },
  {
    name: 'an absent file with no install planned is absent',
    effects: [{ kind: 'package', name: 'nginx', installed: false }],
    value: { path: '/etc/x', type: 'absent', parent: 'directory' },
    expected: { path: '/etc/x', type: 'absent', parent: 'directory' },
  },
  {
    name: 'an absent file may come with a package installed earlier',
    effects: [{ kind: 'package', name: 'nginx', installed: true }],
    value: { path: '/etc/nginx/nginx.conf', type: 'absent', parent: 'directory' },
    expected: { path: '/etc/nginx/nginx.conf', type: 'absent', parent: 'directory', mayComeWith: 'package nginx ("task 1")' },
  },
  {
    name: 'an absent directory may come with a package installed earlier',
    effects: [{ kind: 'package', name: 'nginx', installed: true }],
    value: { path: '/etc/nginx/nginx.conf', type: 'absent', parent: 'absent' },
    expected: { path: '/etc/nginx/nginx.conf', type: 'absent', parent: 'absent', mayComeWith: 'package nginx ("task 1")' },
  },
];

for (const c of REFINE) {
  test(`fileFact.refine: ${c.name}`, () => {
    assert.deepEqual(refine(c.value, { path: c.value.path }, store(c.effects)), c.expected);
  });
}

test('EffectStore: packages and services, newest wins', () => {
  const s = store([
    { kind: 'package', name: 'nginx', installed: true },
    { kind: 'service', name: 'nginx', exists: true },
    { kind: 'package', name: 'nginx', installed: false },
  ]);
  assert.deepEqual(s.package('nginx'), { kind: 'package', name: 'nginx', installed: false, by: 'task 3' });
  assert.deepEqual(s.service('nginx'), { kind: 'service', name: 'nginx', exists: true, by: 'task 2' });
  assert.equal(s.package('apache2'), undefined);
  assert.equal(s.service('apache2'), undefined);
  assert.deepEqual(s.installs(), []);
});

test('EffectStore.ancestor: the nearest recorded ancestor', () => {
  const s = store([
    { kind: 'path', path: '/a', state: 'directory', fresh: true },
    { kind: 'path', path: '/a/b', state: 'directory', mode: '0700' },
  ]);
  assert.equal(s.ancestor('/a/b/c/d')?.path, '/a/b');
  assert.equal(s.ancestor('/a/x')?.path, '/a');
  assert.equal(s.ancestor('/a'), undefined);
  assert.equal(s.ancestor('/z/y'), undefined);
});

test('EffectStore.record does not change the effect it is given', () => {
  const effect: Effect = { kind: 'path', path: '/p', state: 'file' };
  const s = new EffectStore();
  s.record(effect, 'copy');
  assert.deepEqual(effect, { kind: 'path', path: '/p', state: 'file' });
  assert.equal(s.path('/p')?.by, 'copy');
});

const PARENTS: [string, string | undefined][] = [
  ['/', undefined],
  ['/a', '/'],
  ['/a/b', '/a'],
  ['/a/b/', '/a'],
  ['/a/b/c.conf', '/a/b'],
  ['relative', undefined],
  ['rel/ative', 'rel'],
];

for (const [p, expected] of PARENTS) {
  test(`parentOf(${JSON.stringify(p)}) is ${JSON.stringify(expected)}`, () => assert.equal(parentOf(p), expected));
}
