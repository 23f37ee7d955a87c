import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideLine, line, lineModule, type LineOptions } from '../../src/modules/line.js';
import { TaskFailure } from '../../src/modules/decision.js';
import { TEXT_EDIT_LIMIT } from '../../src/modules/text-file.js';
import type { FileFact } from '../../src/facts/file.js';
import { absent, atomicScript, changedLines, context, directory, fileWith } from './helpers.js';

const P = '/etc/default/app';
const TEXT = 'A=1\nMODE=dev\nB=2\nMODE=test\nC=3\n';
const WRITE = atomicScript(P, '0644', [`chown -- root:root "$tmp" 2>/dev/null || :`]);

interface Case {
  name: string;
  options: Omit<LineOptions, 'path'>;
  fact: FileFact;
  kind: 'noop' | 'change';
  reason: string;
  /** The new content, for changes. */
  content?: string;
  /** The +/- lines of the diff. */
  changed?: string[];
  diff?: string;
}

const CASES: Case[] = [
  {
    name: 'regexp replaces the last match',
    options: { regexp: '^MODE=', line: 'MODE=prod' },
    fact: fileWith(P, TEXT),
    kind: 'change',
    reason: 'line 4 of /etc/default/app would change from "MODE=test" to "MODE=prod"',
    content: 'A=1\nMODE=dev\nB=2\nMODE=prod\nC=3\n',
    changed: ['-MODE=test', '+MODE=prod'],
    diff: '--- /etc/default/app\n+++ /etc/default/app\n@@ -1,5 +1,5 @@\n A=1\n MODE=dev\n B=2\n-MODE=test\n+MODE=prod\n C=3\n',
  },
  {
    name: 'regexp: the last match is the line already',
    options: { regexp: '^MODE=', line: 'MODE=test' },
    fact: fileWith(P, TEXT),
    kind: 'noop',
    reason: 'line "MODE=test" present in /etc/default/app (line 4)',
  },
  {
    name: 'no regexp: the line is present',
    options: { line: 'B=2' },
    fact: fileWith(P, TEXT),
    kind: 'noop',
    reason: 'line "B=2" present in /etc/default/app (line 3)',
  },
  {
    name: 'regexp does not match but the line is present',
    options: { regexp: '^NOPE=', line: 'C=3' },
    fact: fileWith(P, TEXT),
    kind: 'noop',
    reason: 'line "C=3" present in /etc/default/app (line 5)',
  },
  {
    name: 'added at EOF by default',
    options: { line: 'D=4' },
    fact: fileWith(P, TEXT),
    kind: 'change',
    reason: 'line "D=4" would be added to /etc/default/app at line 6',
    content: TEXT + 'D=4\n',
    changed: ['+D=4'],
    diff: '--- /etc/default/app\n+++ /etc/default/app\n@@ -3,3 +3,4 @@\n B=2\n MODE=test\n C=3\n+D=4\n',
  },
  {
    name: 'insertAfter EOF',
    options: { line: 'D=4', insertAfter: 'EOF' },
    fact: fileWith(P, TEXT),
    kind: 'change',
    reason: 'line "D=4" would be added to /etc/default/app at line 6',
    content: TEXT + 'D=4\n',
    changed: ['+D=4'],
  },
  {
    name: 'insertAfter a regexp: after its last match',
    options: { line: 'MODE_X=1', insertAfter: '^MODE=' },
    fact: fileWith(P, TEXT),
    kind: 'change',
    reason: 'line "MODE_X=1" would be added to /etc/default/app at line 5',
    content: 'A=1\nMODE=dev\nB=2\nMODE=test\nMODE_X=1\nC=3\n',
    changed: ['+MODE_X=1'],
  },
  {
    name: 'insertAfter a regexp that does not match: at EOF',
    options: { line: 'D=4', insertAfter: '^ZZZ' },
    fact: fileWith(P, TEXT),
    kind: 'change',
    reason: 'line "D=4" would be added to /etc/default/app at line 6',
    content: TEXT + 'D=4\n',
  },
  {
    name: 'insertBefore a regexp: before its last match',
    options: { line: '# mode', insertBefore: '^MODE=' },
    fact: fileWith(P, TEXT),
    kind: 'change',
    reason: 'line "# mode" would be added to /etc/default/app at line 4',
    content: 'A=1\nMODE=dev\nB=2\n# mode\nMODE=test\nC=3\n',
    changed: ['+# mode'],
  },
  {
    name: 'insertBefore BOF',
    options: { line: '# managed', insertBefore: 'BOF' },
    fact: fileWith(P, TEXT),
    kind: 'change',
    reason: 'line "# managed" would be added to /etc/default/app at line 1',
    content: '# managed\n' + TEXT,
    changed: ['+# managed'],
    diff: '--- /etc/default/app\n+++ /etc/default/app\n@@ -1,3 +1,4 @@\n+# managed\n A=1\n MODE=dev\n B=2\n',
  },
  {
    name: 'insertBefore a regexp that does not match: at EOF',
    options: { line: 'D=4', insertBefore: '^ZZZ' },
    fact: fileWith(P, TEXT),
    kind: 'change',
    reason: 'line "D=4" would be added to /etc/default/app at line 6',
    content: TEXT + 'D=4\n',
  },
  {
    name: 'a regexp with a replacement beats insertAfter',
    options: { regexp: '^B=', line: 'B=20', insertAfter: '^A=' },
    fact: fileWith(P, TEXT),
    kind: 'change',
    reason: 'line 3 of /etc/default/app would change from "B=2" to "B=20"',
    content: 'A=1\nMODE=dev\nB=20\nMODE=test\nC=3\n',
    changed: ['-B=2', '+B=20'],
  },
  {
    name: 'a file without a trailing newline: the line goes on a line of its own',
    options: { line: 'B=2' },
    fact: fileWith(P, 'A=1'),
    kind: 'change',
    reason: 'line "B=2" would be added to /etc/default/app at line 2',
    content: 'A=1\nB=2\n',
    diff: '--- /etc/default/app\n+++ /etc/default/app\n@@ -1,1 +1,2 @@\n-A=1\n\\ No newline at end of file\n+A=1\n+B=2\n',
  },
  {
    name: 'a file without a trailing newline that has the line: ok, untouched',
    options: { line: 'A=1' },
    fact: fileWith(P, 'X=0\nA=1'),
    kind: 'noop',
    reason: 'line "A=1" present in /etc/default/app (line 2)',
  },
  {
    name: 'an empty file',
    options: { line: 'A=1' },
    fact: fileWith(P, ''),
    kind: 'change',
    reason: 'line "A=1" would be added to /etc/default/app at line 1',
    content: 'A=1\n',
    diff: '--- /etc/default/app\n+++ /etc/default/app\n@@ -0,0 +1,1 @@\n+A=1\n',
  },
  {
    name: 'regexp metacharacters in the line are literal',
    options: { line: 'PATH=$PATH:/opt/(bin)*' },
    fact: fileWith(P, 'PATH=$PATH:/opt/(bin)*\n'),
    kind: 'noop',
    reason: 'line "PATH=$PATH:/opt/(bin)*" present in /etc/default/app (line 1)',
  },
  // absent
  {
    name: 'absent: one exact line removed',
    options: { line: 'B=2', state: 'absent' },
    fact: fileWith(P, TEXT),
    kind: 'change',
    reason: 'would remove 1 line(s) matching "B=2" from /etc/default/app',
    content: 'A=1\nMODE=dev\nMODE=test\nC=3\n',
    changed: ['-B=2'],
  },
  {
    name: 'absent: every line matching the regexp removed',
    options: { regexp: '^MODE=', state: 'absent' },
    fact: fileWith(P, TEXT),
    kind: 'change',
    reason: 'would remove 2 line(s) matching "^MODE=" from /etc/default/app',
    content: 'A=1\nB=2\nC=3\n',
    changed: ['-MODE=dev', '-MODE=test'],
  },
  {
    name: 'absent: no such line',
    options: { line: 'Z=26', state: 'absent' },
    fact: fileWith(P, TEXT),
    kind: 'noop',
    reason: 'no line "Z=26" in /etc/default/app',
  },
  {
    name: 'absent: no such line in a file without a trailing newline',
    options: { line: 'Z=26', state: 'absent' },
    fact: fileWith(P, 'A=1'),
    kind: 'noop',
    reason: 'no line "Z=26" in /etc/default/app',
  },
  {
    name: 'absent: the file does not exist',
    options: { line: 'Z=26', state: 'absent' },
    fact: absent(P),
    kind: 'noop',
    reason: '/etc/default/app does not exist, so no line "Z=26" is in it',
  },
  // create
  {
    name: 'create: a missing file is made with the line',
    options: { line: 'A=1', create: true },
    fact: absent(P),
    kind: 'change',
    reason: '/etc/default/app would be created with line "A=1"',
    content: 'A=1\n',
    diff: '--- /dev/null\n+++ /etc/default/app\n@@ -0,0 +1,1 @@\n+A=1\n',
  },
];

for (const c of CASES) {
  test(`line decide: ${c.name}`, () => {
    const fact = c.fact;
    const decision = decideLine({ path: P, ...c.options }, fact);
    assert.equal(decision.kind, c.kind);
    assert.equal(decision.reason, c.reason);
    if (decision.kind === 'noop') return;
    assert.equal(decision.steps.length, 1);
    const step = decision.steps[0]!;
    assert.ok(step.kind === 'exec');
    assert.equal(step.command.text, fact.type === 'absent' ? atomicScript(P, '0644') : WRITE);
    assert.equal(step.stdin?.toString(), c.content);
    if (c.changed) assert.deepEqual(changedLines(decision.diff), c.changed);
    if (c.diff) assert.equal(decision.diff, c.diff);
  });
}

const FAILURES: { name: string; options: Omit<LineOptions, 'path'>; fact: FileFact; message: string }[] = [
  { name: 'missing file', options: { line: 'A=1' }, fact: absent(P), message: '/etc/default/app does not exist (set create: true to create it)' },
  { name: 'create in a missing directory', options: { line: 'A=1', create: true }, fact: absent(P, 'absent'), message: 'cannot create /etc/default/app: its directory does not exist' },
  { name: 'a directory', options: { line: 'A=1' }, fact: directory(P), message: '/etc/default/app is not a regular file (directory)' },
  {
    name: 'a file too large to read whole',
    options: { line: 'A=1' },
    fact: { path: P, type: 'file', parent: 'directory', mode: '0644', size: TEXT_EDIT_LIMIT + 1, sha256: 'abc' },
    message: `/etc/default/app is larger than ${TEXT_EDIT_LIMIT} bytes; too large to edit line by line`,
  },
  {
    name: 'a file the user cannot read',
    options: { line: 'A=1' },
    fact: { path: P, type: 'file', parent: 'directory', mode: '0600', owner: 'root', group: 'root', size: 10 },
    message: '/etc/default/app cannot be read (permission denied?)',
  },
];

for (const c of FAILURES) {
  test(`line decide fails: ${c.name}`, () => {
    assert.throws(() => decideLine({ path: P, ...c.options }, c.fact), (error: unknown) => {
      assert.ok(error instanceof TaskFailure);
      assert.equal(error.message, c.message);
      return true;
    });
  });
}

test('line decide: the new file keeps the old mode and owner in its effect', () => {
  const decision = decideLine({ path: P, line: 'D=4' }, fileWith(P, TEXT, { mode: '0600', owner: 'app', group: 'adm' }));
  assert.equal(decision.kind, 'change');
  if (decision.kind !== 'change') return;
  const effect = decision.effects?.[0];
  assert.ok(effect?.kind === 'path');
  assert.deepEqual([effect.state, effect.mode, effect.owner, effect.group, effect.content?.toString()], ['file', '0600', 'app', 'adm', TEXT + 'D=4\n']);
});

test('line facts: the file, read whole up to the edit limit', () => {
  assert.deepEqual(lineModule.facts({ path: P, line: 'x' }, context()).path.args, { path: P, maxContent: TEXT_EDIT_LIMIT });
});

const BUILD_ERRORS: { name: string; options: Record<string, unknown>; message: string }[] = [
  { name: 'relative path', options: { path: 'etc/x', line: 'a' }, message: 'line: path must be an absolute path, not "etc/x"' },
  { name: 'present without line', options: { path: P, regexp: '^a' }, message: 'line: option "line" is required with state "present"' },
  { name: 'absent with neither line nor regexp', options: { path: P, state: 'absent' }, message: 'line: give "line" or "regexp" to remove' },
  { name: 'a line with a newline', options: { path: P, line: 'a\nb' }, message: 'line: option "line" must be a single line' },
  { name: 'both insertAfter and insertBefore', options: { path: P, line: 'a', insertAfter: 'x', insertBefore: 'y' }, message: 'line: give only one of "insertAfter" and "insertBefore"' },
  { name: 'a bad regexp', options: { path: P, line: 'a', regexp: '(' }, message: 'line: option "regexp" is not a valid regular expression: Invalid regular expression: /(/: Unterminated group' },
  { name: 'a bad insertAfter', options: { path: P, line: 'a', insertAfter: '[' }, message: 'line: option "insertAfter" is not a valid regular expression: Invalid regular expression: /[/: Unterminated character class' },
  { name: 'an unknown state', options: { path: P, line: 'a', state: 'gone' }, message: 'line: option "state" must be one of "present", "absent", not "gone"' },
];

for (const c of BUILD_ERRORS) {
  test(`line() rejects ${c.name}`, () => {
    assert.throws(() => line(c.options as never), (error: unknown) => {
      assert.equal((error as Error).name, 'PlaybookError');
      assert.ok((error as Error).message.endsWith(c.message), (error as Error).message);
      return true;
    });
  });
}

test('line(): BOF and EOF are not checked as regexps', () => {
  assert.equal(line({ path: P, line: 'a', insertBefore: 'BOF' }).module, 'line');
  assert.equal(line({ path: P, line: 'a', insertAfter: 'EOF' }).module, 'line');
});

test('line: in a dry-run, a file that may come with a package installed earlier is unknowable, not a failure', async () => {
  const { Unknowable } = await import('../../src/facts/define.js');
  const { decideLine } = await import('../../src/modules/line.js');
  assert.throws(
    () => decideLine({ path: '/etc/mysql/my.cnf', line: 'x=1' }, { path: '/etc/mysql/my.cnf', type: 'absent', parent: 'absent', mayComeWith: 'package mariadb-server ("install")' }),
    (e: unknown) => e instanceof Unknowable && /may come with package mariadb-server/.test(e.because),
  );
});
