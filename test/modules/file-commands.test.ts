import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atomicWrite, attributeCommands, fileDiff, type WriteOptions } from '../../src/modules/file-commands.js';
import { joinLines, splitLines, type TextLines } from '../../src/modules/text-file.js';
import type { FileFact } from '../../src/facts/file.js';
import { absent, atomicScript, fileWith } from './helpers.js';

const P = '/etc/x';

const DIFFS: { name: string; before: FileFact; after: string | Buffer; expected: string }[] = [
  { name: 'new file: from /dev/null', before: absent(P), after: 'a\nb\n', expected: '--- /dev/null\n+++ /etc/x\n@@ -0,0 +1,2 @@\n+a\n+b\n' },
  { name: 'one line changed', before: fileWith(P, 'a\nb\nc\n'), after: 'a\nB\nc\n', expected: '--- /etc/x\n+++ /etc/x\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n' },
  { name: 'same content: headers only', before: fileWith(P, 'a\n'), after: 'a\n', expected: '--- /etc/x\n+++ /etc/x\n' },
  { name: 'newline added at the end', before: fileWith(P, 'a'), after: 'a\n', expected: '--- /etc/x\n+++ /etc/x\n@@ -1,1 +1,1 @@\n-a\n\\ No newline at end of file\n+a\n' },
  { name: 'everything removed', before: fileWith(P, 'a\n'), after: '', expected: '--- /etc/x\n+++ /etc/x\n@@ -1,1 +0,0 @@\n-a\n' },
  { name: 'binary before', before: fileWith(P, Buffer.from([0, 1])), after: 'text', expected: '--- /etc/x\n+++ /etc/x\nBinary content differs (2 → 4 bytes)\n' },
  { name: 'binary after', before: absent(P), after: Buffer.from([1, 0]), expected: '--- /etc/x\n+++ /etc/x\nBinary content differs (0 → 2 bytes)\n' },
  {
    name: 'too large to have been read',
    before: { path: P, type: 'file', parent: 'directory', size: 99, sha256: 'x' },
    after: 'a',
    expected: '--- /etc/x\n+++ /etc/x\n(99 bytes, too large to diff; new content 1 bytes)\n',
  },
  {
    name: 'a dangling link: as from nothing, under its own name',
    before: { path: P, type: 'link', parent: 'directory' },
    after: 'a\n',
    expected: '--- /etc/x\n+++ /etc/x\n@@ -0,0 +1,1 @@\n+a\n',
  },
];

for (const c of DIFFS) {
  test(`fileDiff: ${c.name}`, () => {
    assert.equal(fileDiff(P, c.before, Buffer.from(c.after)), c.expected);
  });
}

const ATTRIBUTES: { name: string; fact: FileFact; wanted: WriteOptions; commands: string[]; changes: string[] }[] = [
  { name: 'nothing wanted', fact: fileWith(P, ''), wanted: {}, commands: [], changes: [] },
  { name: 'all the same', fact: fileWith(P, ''), wanted: { mode: '0644', owner: 'root', group: 'root' }, commands: [], changes: [] },
  { name: 'mode', fact: fileWith(P, ''), wanted: { mode: '0600' }, commands: ['chmod 0600 -- /etc/x'], changes: ['mode 0644 → 0600'] },
  { name: 'owner', fact: fileWith(P, ''), wanted: { owner: 'app' }, commands: ['chown -- app /etc/x'], changes: ['owner root → app'] },
  { name: 'group', fact: fileWith(P, ''), wanted: { group: 'app' }, commands: ['chown -- :app /etc/x'], changes: ['group root → app'] },
  { name: 'owner differs, group the same', fact: fileWith(P, ''), wanted: { owner: 'app', group: 'root' }, commands: ['chown -- app /etc/x'], changes: ['owner root → app'] },
  {
    name: 'unknown mode and owner',
    fact: { path: P, type: 'file', parent: 'directory' },
    wanted: { mode: '0600', owner: 'a', group: 'b' },
    commands: ['chmod 0600 -- /etc/x', 'chown -- a:b /etc/x'],
    changes: ['mode ? → 0600', 'owner ? → a', 'group ? → b'],
  },
];

for (const c of ATTRIBUTES) {
  test(`attributeCommands: ${c.name}`, () => {
    const { commands, changes } = attributeCommands(P, c.fact, c.wanted);
    assert.deepEqual(
      commands.map((s) => s.text),
      c.commands,
    );
    assert.deepEqual(changes, c.changes);
  });
}

test('attributeCommands: a hostile path is one word', () => {
  const { commands } = attributeCommands("/tmp/a b'$(x)", { path: "/tmp/a b'$(x)", type: 'file', parent: 'directory', mode: '0644' }, { mode: '0600' });
  assert.equal(commands[0]!.text, `chmod 0600 -- '/tmp/a b'\\''$(x)'`);
});

const WRITES: { name: string; existing: FileFact; options: WriteOptions; expected: string }[] = [
  { name: 'new file, default mode', existing: absent(P), options: {}, expected: atomicScript(P, '0644') },
  { name: 'existing file keeps mode and owner', existing: fileWith(P, '', { mode: '0600', owner: 'a', group: 'b' }), options: {}, expected: atomicScript(P, '0600', ['chown -- a:b "$tmp" 2>/dev/null || :']) },
  { name: 'existing file without a known owner', existing: { path: P, type: 'file', parent: 'directory', mode: '0640' }, options: {}, expected: atomicScript(P, '0640') },
  { name: 'wanted owner only', existing: absent(P), options: { owner: 'app' }, expected: atomicScript(P, '0644', ['chown -- app "$tmp"']) },
  { name: 'wanted group only', existing: fileWith(P, ''), options: { group: 'adm' }, expected: atomicScript(P, '0644', ['chown -- :adm "$tmp"']) },
  {
    name: 'backup of an existing file',
    existing: fileWith(P, ''),
    options: { backupStamp: '20240101T000000Z', mode: '0600' },
    expected: atomicScript(P, '0600', ['chown -- root:root "$tmp" 2>/dev/null || :', `cp -p -- "$dest" '/etc/x.20240101T000000Z~'`]),
  },
  { name: 'backup of nothing', existing: absent(P), options: { backupStamp: '20240101T000000Z' }, expected: atomicScript(P, '0644') },
];

for (const c of WRITES) {
  test(`atomicWrite: ${c.name}`, () => {
    assert.equal(atomicWrite(P, c.existing, c.options).text, c.expected);
  });
}

const SPLITS: { text: string; lines: TextLines; joined: string }[] = [
  { text: '', lines: { lines: [], trailingNewline: true }, joined: '' },
  { text: '\n', lines: { lines: [''], trailingNewline: true }, joined: '\n' },
  { text: 'a', lines: { lines: ['a'], trailingNewline: false }, joined: 'a\n' },
  { text: 'a\nb\n', lines: { lines: ['a', 'b'], trailingNewline: true }, joined: 'a\nb\n' },
  { text: 'a\n\nb', lines: { lines: ['a', '', 'b'], trailingNewline: false }, joined: 'a\n\nb\n' },
];

for (const c of SPLITS) {
  test(`splitLines/joinLines: ${JSON.stringify(c.text)}`, () => {
    assert.deepEqual(splitLines(c.text), c.lines);
    assert.equal(joinLines(c.lines), c.joined);
  });
}
