import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideHostsEntry, hostsEntry, hostsEntryModule, type HostsEntryOptions } from '../../src/modules/hosts-entry.js';
import { TaskFailure } from '../../src/modules/decision.js';
import { TEXT_EDIT_LIMIT } from '../../src/modules/text-file.js';
import type { FileFact } from '../../src/facts/file.js';
import { absent, atomicScript, changedLines, context, fileWith } from './helpers.js';

const H = '/etc/hosts';
const BASE = [
  '# /etc/hosts: static lookup table',
  '127.0.0.1\tlocalhost',
  '::1     localhost ip6-localhost ip6-loopback',
  '',
  '10.0.0.5 db.internal db   # the database',
  '10.0.0.6 cache.internal',
  '',
].join('\n');

interface Case {
  name: string;
  options: HostsEntryOptions;
  text?: string;
  kind: 'noop' | 'change';
  reason: string;
  content?: string;
  changed?: string[];
}

const lines = (...l: string[]): string => l.join('\n') + '\n';

const CASES: Case[] = [
  {
    name: 'a new address: a new line at the end',
    options: { ip: '10.0.0.9', names: ['app.internal', 'app'] },
    kind: 'change',
    reason: 'would map app.internal, app to 10.0.0.9 in /etc/hosts',
    content: BASE + '10.0.0.9 app.internal app\n',
    changed: ['+10.0.0.9 app.internal app'],
  },
  {
    name: 'names merged into the existing line of the ip',
    options: { ip: '127.0.0.1', names: ['is.wso2.com'] },
    kind: 'change',
    reason: 'would map is.wso2.com to 127.0.0.1 in /etc/hosts',
    content: BASE.replace('127.0.0.1\tlocalhost', '127.0.0.1 localhost is.wso2.com'),
    changed: ['-127.0.0.1\tlocalhost', '+127.0.0.1 localhost is.wso2.com'],
  },
  {
    name: 'the name on a second line of the ip: the lines are merged',
    options: { ip: '127.0.0.1', names: ['is.wso2.com'] },
    text: lines('127.0.0.1 localhost', '127.0.0.1 is.wso2.com'),
    kind: 'change',
    reason: 'would map is.wso2.com to 127.0.0.1 in /etc/hosts',
    content: lines('127.0.0.1 localhost is.wso2.com'),
  },
  {
    name: 'unchanged: noop',
    options: { ip: '127.0.0.1', names: ['is.wso2.com'] },
    text: lines('127.0.0.1 is.wso2.com', '::1 localhost'),
    kind: 'noop',
    reason: 'line "127.0.0.1 is.wso2.com" present in /etc/hosts',
  },
  {
    name: 'unchanged: the names are on the line already, the reason shows that line',
    options: { ip: '127.0.0.1', names: ['is.wso2.com'] },
    text: lines('127.0.0.1 localhost is.wso2.com', '::1 localhost'),
    kind: 'noop',
    reason: 'line "127.0.0.1 localhost is.wso2.com" present in /etc/hosts',
  },
  {
    name: 'unchanged: spacing and a missing trailing newline are left alone',
    options: { ip: '127.0.0.1', names: ['localhost'] },
    text: '127.0.0.1\t\tlocalhost   # loop',
    kind: 'noop',
    reason: 'line "127.0.0.1\\t\\tlocalhost   # loop" present in /etc/hosts',
  },
  {
    name: 'a name moves off another address (the line keeps its other names and comment)',
    options: { ip: '10.0.0.7', names: ['db'] },
    kind: 'change',
    reason: 'would map db to 10.0.0.7 in /etc/hosts (moving db from 10.0.0.5)',
    content: BASE.replace('10.0.0.5 db.internal db   # the database', '10.0.0.5 db.internal # the database') + '10.0.0.7 db\n',
    changed: ['-10.0.0.5 db.internal db   # the database', '+10.0.0.5 db.internal # the database', '+10.0.0.7 db'],
  },
  {
    name: 'a name moves off a line it was the only name of: the line goes',
    options: { ip: '10.0.0.8', names: ['cache.internal'] },
    kind: 'change',
    reason: 'would map cache.internal to 10.0.0.8 in /etc/hosts (moving cache.internal from 10.0.0.6)',
    content: BASE.replace('10.0.0.6 cache.internal\n', '') + '10.0.0.8 cache.internal\n',
    changed: ['-10.0.0.6 cache.internal', '+10.0.0.8 cache.internal'],
  },
  {
    name: 'a name moves onto the existing line of the ip',
    options: { ip: '10.0.0.6', names: ['db'] },
    kind: 'change',
    reason: 'would map db to 10.0.0.6 in /etc/hosts (moving db from 10.0.0.5)',
    content: BASE.replace('10.0.0.5 db.internal db   # the database', '10.0.0.5 db.internal # the database').replace(
      '10.0.0.6 cache.internal',
      '10.0.0.6 cache.internal db',
    ),
  },
  {
    name: 'two lines of the same ip are merged into the first',
    options: { ip: '10.1.1.1', names: ['c'] },
    text: lines('10.1.1.1 a', '# between', '10.1.1.1 b a', '10.2.2.2 z'),
    kind: 'change',
    reason: 'would map c to 10.1.1.1 in /etc/hosts',
    content: lines('10.1.1.1 a c b', '# between', '10.2.2.2 z'),
  },
  {
    name: 'two lines of the same ip are merged even when the names are all there',
    options: { ip: '10.1.1.1', names: ['a'] },
    text: lines('10.1.1.1 a', '10.1.1.1 b'),
    kind: 'change',
    reason: 'would map a to 10.1.1.1 in /etc/hosts',
    content: lines('10.1.1.1 a b'),
  },
  {
    name: 'comments, blank lines and commented-out entries are kept',
    options: { ip: '10.0.0.9', names: ['x'] },
    text: lines('# 10.0.0.9 x', '', '   ', '#10.0.0.5 db'),
    kind: 'change',
    reason: 'would map x to 10.0.0.9 in /etc/hosts',
    content: lines('# 10.0.0.9 x', '', '   ', '#10.0.0.5 db', '10.0.0.9 x'),
    changed: ['+10.0.0.9 x'],
  },
  {
    name: 'an inline comment stays on the merged line',
    options: { ip: '127.0.0.1', names: ['is.wso2.com'] },
    text: lines('127.0.0.1 localhost # loopback'),
    kind: 'change',
    reason: 'would map is.wso2.com to 127.0.0.1 in /etc/hosts',
    content: lines('127.0.0.1 localhost is.wso2.com # loopback'),
  },
  {
    name: 'IPv6 address',
    options: { ip: '::1', names: ['is.wso2.com'] },
    kind: 'change',
    reason: 'would map is.wso2.com to ::1 in /etc/hosts',
    content: BASE.replace('::1     localhost ip6-localhost ip6-loopback', '::1 localhost ip6-localhost ip6-loopback is.wso2.com'),
  },
  {
    name: 'an empty hosts file',
    options: { ip: '127.0.0.1', names: ['localhost'] },
    text: '',
    kind: 'change',
    reason: 'would map localhost to 127.0.0.1 in /etc/hosts',
    content: '127.0.0.1 localhost\n',
  },
  {
    name: 'a file without a trailing newline gets one',
    options: { ip: '10.0.0.9', names: ['x'] },
    text: '127.0.0.1 localhost',
    kind: 'change',
    reason: 'would map x to 10.0.0.9 in /etc/hosts',
    content: lines('127.0.0.1 localhost', '10.0.0.9 x'),
  },
  // absent
  {
    name: 'absent: a name removed from the line of the ip',
    options: { ip: '10.0.0.5', names: ['db'], state: 'absent' },
    kind: 'change',
    reason: 'would remove 10.0.0.5 db from /etc/hosts',
    content: BASE.replace('10.0.0.5 db.internal db   # the database', '10.0.0.5 db.internal # the database'),
    changed: ['-10.0.0.5 db.internal db   # the database', '+10.0.0.5 db.internal # the database'],
  },
  {
    name: 'absent: the last names removed: the line goes',
    options: { ip: '10.0.0.5', names: ['db', 'db.internal'], state: 'absent' },
    kind: 'change',
    reason: 'would remove 10.0.0.5 db db.internal from /etc/hosts',
    content: BASE.replace('10.0.0.5 db.internal db   # the database\n', ''),
    changed: ['-10.0.0.5 db.internal db   # the database'],
  },
  {
    name: 'absent without names: every line of the ip goes',
    options: { ip: '10.1.1.1', state: 'absent' },
    text: lines('10.1.1.1 a', '10.2.2.2 z', '10.1.1.1 b'),
    kind: 'change',
    reason: 'would remove 10.1.1.1 from /etc/hosts',
    content: lines('10.2.2.2 z'),
  },
  {
    name: 'absent: names on other addresses are left alone',
    options: { ip: '10.0.0.9', names: ['db'], state: 'absent' },
    kind: 'noop',
    reason: 'no entry "10.0.0.9 db" in /etc/hosts',
  },
  {
    name: 'absent: the names are not on the line',
    options: { ip: '127.0.0.1', names: ['nothere'], state: 'absent' },
    kind: 'noop',
    reason: 'no entry "127.0.0.1 nothere" in /etc/hosts',
  },
  {
    name: 'another hosts file',
    options: { ip: '10.0.0.9', names: ['x'], path: '/etc/cloud/templates/hosts.tmpl' },
    text: '',
    kind: 'change',
    reason: 'would map x to 10.0.0.9 in /etc/cloud/templates/hosts.tmpl',
    content: '10.0.0.9 x\n',
  },
];

for (const c of CASES) {
  test(`hostsEntry decide: ${c.name}`, () => {
    const path = c.options.path ?? H;
    const decision = decideHostsEntry(c.options, fileWith(path, c.text ?? BASE));
    assert.equal(decision.kind, c.kind);
    assert.equal(decision.reason, c.reason);
    if (decision.kind === 'noop') return;
    const step = decision.steps[0]!;
    assert.equal(decision.steps.length, 1);
    assert.ok(step.kind === 'exec');
    assert.equal(step.command.text, atomicScript(path, '0644', [`chown -- root:root "$tmp" 2>/dev/null || :`]));
    assert.equal(step.stdin?.toString(), c.content);
    if (c.changed) assert.deepEqual(changedLines(decision.diff), c.changed);
  });
}

test('hostsEntry decide: the diff shows only the changed line and its context', () => {
  const many = Array.from({ length: 20 }, (_, i) => `10.9.0.${i} h${i}`);
  const decision = decideHostsEntry({ ip: '10.9.0.10', names: ['extra'] }, fileWith(H, lines(...many)));
  assert.equal(decision.kind, 'change');
  assert.equal(
    decision.kind === 'change' ? decision.diff : '',
    '--- /etc/hosts\n+++ /etc/hosts\n@@ -8,7 +8,7 @@\n 10.9.0.7 h7\n 10.9.0.8 h8\n 10.9.0.9 h9\n-10.9.0.10 h10\n+10.9.0.10 h10 extra\n 10.9.0.11 h11\n 10.9.0.12 h12\n 10.9.0.13 h13\n',
  );
});

const OTHER: { name: string; options: HostsEntryOptions; fact: FileFact; expected: unknown }[] = [
  { name: 'absent: no hosts file at all', options: { ip: '10.0.0.1', names: ['x'], state: 'absent' }, fact: absent(H), expected: { kind: 'noop', reason: '/etc/hosts does not exist' } },
];

for (const c of OTHER) {
  test(`hostsEntry decide: ${c.name}`, () => assert.deepEqual(decideHostsEntry(c.options, c.fact), c.expected));
}

test('hostsEntry decide fails: no hosts file to add to', () => {
  assert.throws(() => decideHostsEntry({ ip: '10.0.0.1', names: ['x'] }, absent(H)), (error: unknown) => {
    assert.ok(error instanceof TaskFailure);
    assert.equal(error.message, '/etc/hosts does not exist');
    return true;
  });
});

test('hostsEntry facts and describe', () => {
  assert.deepEqual(hostsEntryModule.facts({ ip: '1.2.3.4', names: ['a'] }, context()).path.args, { path: H, maxContent: TEXT_EDIT_LIMIT });
  assert.deepEqual(hostsEntryModule.facts({ ip: '1.2.3.4', names: ['a'], path: '/x/hosts' }, context()).path.args, { path: '/x/hosts', maxContent: TEXT_EDIT_LIMIT });
  assert.equal(hostsEntryModule.describe({ ip: '127.0.0.1', names: ['a', 'b'] }), 'hosts entry 127.0.0.1 a b');
  assert.equal(hostsEntryModule.describe({ ip: '127.0.0.1', state: 'absent' }), 'hosts entry 127.0.0.1');
});

const BUILD_ERRORS: { name: string; options: Record<string, unknown>; message: string }[] = [
  { name: 'not an address', options: { ip: 'localhost', names: ['x'] }, message: 'hostsEntry: ip "localhost" is not an IPv4 or IPv6 address' },
  { name: 'present without names', options: { ip: '10.0.0.1' }, message: 'hostsEntry: option "names" is required with state "present"' },
  { name: 'present with no names', options: { ip: '10.0.0.1', names: [] }, message: 'hostsEntry: option "names" is required with state "present"' },
  { name: 'a name with a space', options: { ip: '10.0.0.1', names: ['a b'] }, message: 'hostsEntry: name "a b" is not a valid host name' },
  { name: 'a name with a comment sign', options: { ip: '10.0.0.1', names: ['a#b'] }, message: 'hostsEntry: name "a#b" is not a valid host name' },
  { name: 'names as a string', options: { ip: '10.0.0.1', names: 'a' }, message: 'hostsEntry: option "names" must be an array of strings' },
];

for (const c of BUILD_ERRORS) {
  test(`hostsEntry() rejects ${c.name}`, () => {
    assert.throws(() => hostsEntry(c.options as never), (error: unknown) => {
      assert.equal((error as Error).name, 'PlaybookError');
      assert.ok((error as Error).message.endsWith(c.message), (error as Error).message);
      return true;
    });
  });
}

test('hostsEntry(): IPv6 with a zone and absent without names are fine', () => {
  assert.equal(hostsEntry({ ip: 'fe80::1%eth0', names: ['a'] }).module, 'hostsEntry');
  assert.equal(hostsEntry({ ip: '10.0.0.1', state: 'absent' }).module, 'hostsEntry');
});
