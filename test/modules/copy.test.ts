import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copy, copyModule, decideFileContent, type FileContentPlan } from '../../src/modules/copy.js';
import { TaskFailure } from '../../src/modules/decision.js';
import type { FileFact } from '../../src/facts/file.js';
import { Secret } from '../../src/shell/secret.js';
import { STAMP, absent, atomicScript, changedLines, context, directory, fileWith, sha, short, summary } from './helpers.js';

const DEST = '/etc/motd';
const OLD = 'line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\n';
const NEW = 'line 1\nline 2\nline 3\nline 4 changed\nline 5\nline 6\nline 7\nline 8\n';
// Three lines of context: line 8 is too far from the change to show.
const DIFF = '--- /etc/motd\n+++ /etc/motd\n@@ -1,7 +1,7 @@\n line 1\n line 2\n line 3\n-line 4\n+line 4 changed\n line 5\n line 6\n line 7\n';

interface Case {
  name: string;
  plan: FileContentPlan;
  fact: FileFact;
  expected: unknown;
}

const CASES: Case[] = [
  {
    name: 'create a new file',
    plan: { dest: DEST, content: Buffer.from('hello\n') },
    fact: absent(DEST),
    expected: {
      kind: 'change',
      reason: '/etc/motd would be created (6 bytes)',
      diff: '--- /dev/null\n+++ /etc/motd\n@@ -0,0 +1,1 @@\n+hello\n',
      steps: [{ command: atomicScript('/etc/motd', '0644'), stdin: 'hello\n', label: 'write /etc/motd' }],
    },
  },
  {
    name: 'same content and mode: noop',
    plan: { dest: DEST, content: Buffer.from(OLD) },
    fact: fileWith(DEST, OLD),
    expected: { kind: 'noop', reason: `/etc/motd matches (sha256 ${short(OLD)}, mode 0644)` },
  },
  {
    name: 'same content, same explicit mode, owner and group: noop',
    plan: { dest: DEST, content: Buffer.from(OLD), mode: '0644', owner: 'root', group: 'root' },
    fact: fileWith(DEST, OLD),
    expected: { kind: 'noop', reason: `/etc/motd matches (sha256 ${short(OLD)}, mode 0644)` },
  },
  {
    name: 'content differs: the existing mode and owner are kept',
    plan: { dest: DEST, content: Buffer.from(NEW) },
    fact: fileWith(DEST, OLD, { mode: '0640', owner: 'app', group: 'staff' }),
    expected: {
      kind: 'change',
      reason: `/etc/motd content differs (sha256 ${short(OLD)} → ${short(NEW)})`,
      diff: DIFF,
      steps: [
        {
          command: atomicScript('/etc/motd', '0640', [`chown -- app:staff "$tmp" 2>/dev/null || :`]),
          stdin: NEW,
          label: 'write /etc/motd',
        },
      ],
    },
  },
  {
    name: 'mode only',
    plan: { dest: DEST, content: Buffer.from(OLD), mode: '0600' },
    fact: fileWith(DEST, OLD),
    expected: { kind: 'change', reason: '/etc/motd mode 0644 → 0600', steps: [{ command: 'chmod 0600 -- /etc/motd' }] },
  },
  {
    name: 'owner only',
    plan: { dest: DEST, content: Buffer.from(OLD), owner: 'app' },
    fact: fileWith(DEST, OLD),
    expected: { kind: 'change', reason: '/etc/motd owner root → app', steps: [{ command: 'chown -- app /etc/motd' }] },
  },
  {
    name: 'group only',
    plan: { dest: DEST, content: Buffer.from(OLD), group: 'staff' },
    fact: fileWith(DEST, OLD),
    expected: { kind: 'change', reason: '/etc/motd group root → staff', steps: [{ command: 'chown -- :staff /etc/motd' }] },
  },
  {
    name: 'mode, owner and group',
    plan: { dest: DEST, content: Buffer.from(OLD), mode: '0600', owner: 'app', group: 'staff' },
    fact: fileWith(DEST, OLD),
    expected: {
      kind: 'change',
      reason: '/etc/motd mode 0644 → 0600, owner root → app, group root → staff',
      steps: [{ command: 'chmod 0600 -- /etc/motd' }, { command: 'chown -- app:staff /etc/motd' }],
    },
  },
  {
    name: 'new file with mode, owner and group',
    plan: { dest: '/etc/app/secret.conf', content: Buffer.from('k=v\n'), mode: '0600', owner: 'app', group: 'app' },
    fact: absent('/etc/app/secret.conf'),
    expected: {
      kind: 'change',
      reason: '/etc/app/secret.conf would be created (4 bytes)',
      diff: '--- /dev/null\n+++ /etc/app/secret.conf\n@@ -0,0 +1,1 @@\n+k=v\n',
      steps: [{ command: atomicScript('/etc/app/secret.conf', '0600', ['chown -- app:app "$tmp"']), stdin: 'k=v\n', label: 'write /etc/app/secret.conf' }],
    },
  },
  {
    name: 'backup of the existing file',
    plan: { dest: DEST, content: Buffer.from(NEW), backup: true },
    fact: fileWith(DEST, OLD),
    expected: {
      kind: 'change',
      reason: `/etc/motd content differs (sha256 ${short(OLD)} → ${short(NEW)})`,
      diff: DIFF,
      steps: [
        {
          command: atomicScript('/etc/motd', '0644', [`chown -- root:root "$tmp" 2>/dev/null || :`, `cp -p -- "$dest" '/etc/motd.${STAMP}~'`]),
          stdin: NEW,
          label: 'write /etc/motd',
        },
      ],
    },
  },
  {
    name: 'backup asked but nothing to back up',
    plan: { dest: DEST, content: Buffer.from('x'), backup: true },
    fact: absent(DEST),
    expected: {
      kind: 'change',
      reason: '/etc/motd would be created (1 bytes)',
      diff: '--- /dev/null\n+++ /etc/motd\n@@ -0,0 +1,1 @@\n+x\n\\ No newline at end of file\n',
      steps: [{ command: atomicScript('/etc/motd', '0644'), stdin: 'x', label: 'write /etc/motd' }],
    },
  },
  {
    name: 'dest with spaces and quotes is one word',
    plan: { dest: "/srv/my app/it's.conf", content: Buffer.from('x\n') },
    fact: absent("/srv/my app/it's.conf"),
    expected: {
      kind: 'change',
      reason: "/srv/my app/it's.conf would be created (2 bytes)",
      diff: "--- /dev/null\n+++ /srv/my app/it's.conf\n@@ -0,0 +1,1 @@\n+x\n",
      steps: [{ command: atomicScript(`'/srv/my app/it'\\''s.conf'`, '0644'), stdin: 'x\n', label: "write /srv/my app/it's.conf" }],
    },
  },
  {
    name: 'a dangling link is replaced',
    plan: { dest: DEST, content: Buffer.from('x\n') },
    fact: { path: DEST, type: 'link', parent: 'directory', mode: '0777', owner: 'root', group: 'root', size: 9 },
    expected: {
      kind: 'change',
      reason: '/etc/motd would be created in place of a dangling link (2 bytes)',
      diff: '--- /etc/motd\n+++ /etc/motd\n@@ -0,0 +1,1 @@\n+x\n',
      steps: [{ command: atomicScript('/etc/motd', '0644'), stdin: 'x\n', label: 'write /etc/motd' }],
    },
  },
  {
    name: 'an existing file too large to read: summary instead of a diff',
    plan: { dest: DEST, content: Buffer.from('small\n') },
    fact: { path: DEST, type: 'file', parent: 'directory', mode: '0644', owner: 'root', group: 'root', size: 5000000, sha256: sha('big') },
    expected: {
      kind: 'change',
      reason: `/etc/motd content differs (sha256 ${short('big')} → ${short('small\n')})`,
      diff: '--- /etc/motd\n+++ /etc/motd\n(5000000 bytes, too large to diff; new content 6 bytes)\n',
      steps: [{ command: atomicScript('/etc/motd', '0644', [`chown -- root:root "$tmp" 2>/dev/null || :`]), stdin: 'small\n', label: 'write /etc/motd' }],
    },
  },
  {
    name: 'binary content: no text diff',
    plan: { dest: '/opt/app/logo.bin', content: Buffer.from([0, 1, 2, 3]) },
    fact: fileWith('/opt/app/logo.bin', Buffer.from([0, 1, 2])),
    expected: {
      kind: 'change',
      reason: `/opt/app/logo.bin content differs (sha256 ${short(Buffer.from([0, 1, 2]))} → ${short(Buffer.from([0, 1, 2, 3]))})`,
      diff: '--- /opt/app/logo.bin\n+++ /opt/app/logo.bin\nBinary content differs (3 → 4 bytes)\n',
      steps: [
        {
          command: atomicScript('/opt/app/logo.bin', '0644', [`chown -- root:root "$tmp" 2>/dev/null || :`]),
          stdin: Buffer.from([0, 1, 2, 3]).toString(),
          label: 'write /opt/app/logo.bin',
        },
      ],
    },
  },
  {
    name: 'answered from a planned change: the reason says so',
    plan: { dest: DEST, content: Buffer.from('x\n') },
    fact: { ...fileWith(DEST, 'x\n'), planned: '"write motd"' },
    expected: { kind: 'noop', reason: `/etc/motd matches (sha256 ${short('x\n')}, mode 0644) (as "write motd" leaves it)` },
  },
];

for (const c of CASES) {
  test(`copy decide: ${c.name}`, () => {
    const decision = copyModule.decide(c.plan, { dest: c.fact }, context());
    assert.deepEqual(summary(decision), c.expected);
  });
}

test('copy decide: the diff of a one-line change in a long file shows that line and its context only', () => {
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i + 1}`);
  const before = lines.join('\n') + '\n';
  const after = lines.map((l, i) => (i === 49 ? 'LINE 50' : l)).join('\n') + '\n';
  const decision = decideFileContent({ dest: DEST, content: Buffer.from(after) }, fileWith(DEST, before), context());
  assert.equal(decision.kind, 'change');
  assert.deepEqual(changedLines(decision.kind === 'change' ? decision.diff : ''), ['-line 50', '+LINE 50']);
  assert.equal(
    decision.kind === 'change' ? decision.diff : '',
    '--- /etc/motd\n+++ /etc/motd\n@@ -47,7 +47,7 @@\n line 47\n line 48\n line 49\n-line 50\n+LINE 50\n line 51\n line 52\n line 53\n',
  );
});

test('copy decide: effects describe the file as the write leaves it', () => {
  const content = Buffer.from('x\n');
  const decision = decideFileContent({ dest: DEST, content, owner: 'app' }, fileWith(DEST, 'old', { mode: '0640', group: 'adm' }), context());
  assert.equal(decision.kind, 'change');
  assert.deepEqual(decision.kind === 'change' ? decision.effects : undefined, [
    { kind: 'path', path: DEST, state: 'file', sha256: sha(content), content, mode: '0640', owner: 'app', group: 'adm' },
  ]);
});

const FAILURES: { name: string; plan: FileContentPlan; fact: FileFact; message: string }[] = [
  { name: 'dest is a directory', plan: { dest: '/etc', content: Buffer.from('x') }, fact: directory('/etc'), message: '/etc is a directory' },
  {
    name: 'parent directory missing',
    plan: { dest: '/opt/app/app.conf', content: Buffer.from('x') },
    fact: absent('/opt/app/app.conf', 'absent'),
    message: 'cannot create /opt/app/app.conf: directory /opt/app does not exist',
  },
  {
    name: 'parent is not a directory',
    plan: { dest: '/opt/app/app.conf', content: Buffer.from('x') },
    fact: absent('/opt/app/app.conf', 'other'),
    message: 'cannot create /opt/app/app.conf: directory /opt/app does not exist',
  },
  {
    name: 'file directly under a missing root-level directory',
    plan: { dest: '/x', content: Buffer.from('x') },
    fact: absent('/x', 'absent'),
    message: 'cannot create /x: directory / does not exist',
  },
];

for (const c of FAILURES) {
  test(`copy decide fails: ${c.name}`, () => {
    assert.throws(() => copyModule.decide(c.plan, { dest: c.fact }, context()), (error: unknown) => {
      assert.ok(error instanceof TaskFailure);
      assert.equal(error.message, c.message);
      return true;
    });
  });
}

const PREPARE: { name: string; options: Parameters<NonNullable<typeof copyModule.prepare>>[0]; expected: FileContentPlan }[] = [
  { name: 'string content', options: { dest: DEST, content: 'hi' }, expected: { dest: DEST, content: Buffer.from('hi') } },
  { name: 'Buffer content', options: { dest: DEST, content: Buffer.from([1, 2]) }, expected: { dest: DEST, content: Buffer.from([1, 2]) } },
  {
    name: 'numeric mode, owner, group, backup',
    options: { dest: DEST, content: 'x', mode: 0o600, owner: 'app', group: 'app', backup: true },
    expected: { dest: DEST, content: Buffer.from('x'), mode: '0600', owner: 'app', group: 'app', backup: true },
  },
  { name: 'three-digit string mode', options: { dest: DEST, content: 'x', mode: '755' }, expected: { dest: DEST, content: Buffer.from('x'), mode: '0755' } },
  { name: 'src read locally', options: { dest: DEST, src: 'files/motd' }, expected: { dest: DEST, content: Buffer.from('from files/motd') } },
  { name: 'secret content', options: { dest: DEST, content: new Secret('pw') as unknown as string }, expected: { dest: DEST, content: Buffer.from('pw') } },
];

for (const c of PREPARE) {
  test(`copy prepare: ${c.name}`, async () => {
    const plan = await copyModule.prepare!(c.options, {
      host: context().host,
      vars: {},
      resolveLocal: (p) => `/playbooks/${p}`,
      readLocal: async (p) => Buffer.from(`from ${p}`),
    });
    assert.deepEqual(plan, c.expected);
  });
}

const BUILD_ERRORS: { name: string; options: Record<string, unknown>; message: RegExp }[] = [
  { name: 'neither content nor src', options: { dest: DEST }, message: /copy: give exactly one of "content" and "src"$/ },
  { name: 'both content and src', options: { dest: DEST, content: 'x', src: 'y' }, message: /copy: give exactly one of "content" and "src"$/ },
  { name: 'relative dest', options: { dest: 'etc/motd', content: 'x' }, message: /copy: dest must be an absolute path, not "etc\/motd"$/ },
  { name: 'content of a wrong type', options: { dest: DEST, content: 42 }, message: /copy: option "content" must be a string, a Buffer or a secret$/ },
];

for (const c of BUILD_ERRORS) {
  test(`copy() rejects ${c.name}`, () => {
    assert.throws(() => copy(c.options as never), { name: 'PlaybookError', message: c.message });
  });
}

test('copy() builds a frozen task', () => {
  const task = copy({ dest: DEST, content: 'x', name: 'motd', notify: 'h' });
  assert.equal(task.module, 'copy');
  assert.deepEqual(task.options, { dest: DEST, content: 'x' });
  assert.deepEqual(task.common, { name: 'motd', notify: 'h' });
  assert.ok(Object.isFrozen(task) && Object.isFrozen(task.options));
  assert.equal(copyModule.describe({ dest: DEST, src: 'files/motd' }), 'copy files/motd → /etc/motd');
  assert.equal(copyModule.describe({ dest: DEST, content: 'x' }), 'copy /etc/motd');
});
