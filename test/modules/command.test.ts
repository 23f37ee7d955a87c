import { test } from 'node:test';
import assert from 'node:assert/strict';
import { command, commandModule, commandShell, decideCommand, type CommandOptions } from '../../src/modules/command.js';
import type { FileFact } from '../../src/facts/file.js';
import { Secret } from '../../src/shell/secret.js';
import { wrap } from '../../src/shell/wrap.js';
import { runSh } from '../shell/run-sh.js';
import { absent, context, directory, fileWith, summary } from './helpers.js';

const MARK = '/var/lib/app/.init';
const ARGV = ['/opt/app/bin/init', '--data', '/var/lib/app'];

interface Case {
  name: string;
  options: CommandOptions;
  facts: { creates?: FileFact; removes?: FileFact };
  dryRun?: boolean;
  expected: unknown;
  effects?: unknown;
}

const CASES: Case[] = [
  {
    name: 'no creates/removes: always runs',
    options: { cmd: 'systemctl daemon-reload' },
    facts: {},
    expected: { kind: 'change', reason: 'a command without creates/removes always runs', steps: [{ command: 'systemctl daemon-reload' }] },
    effects: [],
  },
  {
    name: 'dry-run says it would run and does not',
    options: { cmd: 'systemctl daemon-reload' },
    facts: {},
    dryRun: true,
    expected: {
      kind: 'change',
      reason: 'a command without creates/removes always runs; would run (not run in a dry-run)',
      steps: [{ command: 'systemctl daemon-reload' }],
    },
  },
  {
    name: 'a string is run as shell, as written',
    options: { cmd: 'cat /etc/passwd | grep -c root > /tmp/n && echo "$HOME"' },
    facts: {},
    expected: {
      kind: 'change',
      reason: 'a command without creates/removes always runs',
      steps: [{ command: 'cat /etc/passwd | grep -c root > /tmp/n && echo "$HOME"' }],
    },
  },
  {
    name: 'an argv array is quoted word by word',
    options: { cmd: ['/opt/app/bin/tool', '--name', "it's me", '$(reboot)', '`id`', 'a;b', '', 'x y'] },
    facts: {},
    expected: {
      kind: 'change',
      reason: 'a command without creates/removes always runs',
      steps: [{ command: `/opt/app/bin/tool --name 'it'\\''s me' '$(reboot)' '\`id\`' 'a;b' '' 'x y'` }],
    },
  },
  {
    name: 'creates: the path exists',
    options: { cmd: ARGV, creates: MARK },
    facts: { creates: fileWith(MARK, '') },
    expected: { kind: 'noop', reason: '/var/lib/app/.init exists' },
  },
  {
    name: 'creates: a directory counts as existing',
    options: { cmd: ARGV, creates: '/var/lib/app' },
    facts: { creates: directory('/var/lib/app') },
    expected: { kind: 'noop', reason: '/var/lib/app exists' },
  },
  {
    name: 'creates: made by an earlier planned task',
    options: { cmd: ARGV, creates: MARK },
    facts: { creates: { ...fileWith(MARK, ''), planned: '"init marker"' } },
    expected: { kind: 'noop', reason: '/var/lib/app/.init exists (made by "init marker")' },
  },
  {
    name: 'creates: the path is missing',
    options: { cmd: ARGV, creates: MARK },
    facts: { creates: absent(MARK) },
    expected: { kind: 'change', reason: '/var/lib/app/.init does not exist', steps: [{ command: '/opt/app/bin/init --data /var/lib/app' }] },
    effects: [{ kind: 'path', path: MARK, state: 'exists' }],
  },
  {
    name: 'creates: missing, in a dry-run',
    options: { cmd: ARGV, creates: MARK },
    facts: { creates: absent(MARK) },
    dryRun: true,
    expected: {
      kind: 'change',
      reason: '/var/lib/app/.init does not exist; would run (not run in a dry-run)',
      steps: [{ command: '/opt/app/bin/init --data /var/lib/app' }],
    },
  },
  {
    name: 'removes: the path is missing',
    options: { cmd: ['rm', '/tmp/lock'], removes: '/tmp/lock' },
    facts: { removes: absent('/tmp/lock') },
    expected: { kind: 'noop', reason: '/tmp/lock does not exist' },
  },
  {
    name: 'removes: the path exists',
    options: { cmd: ['rm', '/tmp/lock'], removes: '/tmp/lock' },
    facts: { removes: fileWith('/tmp/lock', '') },
    expected: { kind: 'change', reason: '/tmp/lock exists', steps: [{ command: 'rm /tmp/lock' }] },
    effects: [{ kind: 'path', path: '/tmp/lock', state: 'absent' }],
  },
  {
    name: 'cwd and env go with the step',
    options: { cmd: 'make install', cwd: '/usr/src/app', env: { PREFIX: '/opt', JOBS: 4 } },
    facts: {},
    expected: {
      kind: 'change',
      reason: 'a command without creates/removes always runs',
      steps: [{ command: 'make install', cwd: '/usr/src/app', env: { PREFIX: '/opt', JOBS: 4 } }],
    },
  },
];

for (const c of CASES) {
  test(`command decide: ${c.name}`, () => {
    const decision = decideCommand(c.options, c.facts, { dryRun: c.dryRun ?? false });
    assert.deepEqual(summary(decision), c.expected);
    if (c.effects !== undefined) assert.deepEqual(decision.kind === 'change' ? decision.effects : undefined, c.effects);
    // The module's own decide is the same function.
    assert.deepEqual(summary(commandModule.decide(c.options, c.facts as never, context({ dryRun: c.dryRun ?? false }))), c.expected);
  });
}

test('command facts: only the paths it is asked about, without content', () => {
  assert.deepEqual(Object.keys(commandModule.facts({ cmd: 'x' }, context())), []);
  const facts = commandModule.facts({ cmd: 'x', creates: '/a', removes: '/b' }, context());
  assert.deepEqual(facts.creates?.args, { path: '/a', maxContent: 0 });
  assert.deepEqual(facts.removes?.args, { path: '/b', maxContent: 0 });
});

test('command run locally: argv words arrive intact', () => {
  const words = ["it's", '$(touch /tmp/pwned-by-test)', '`id`', 'a;b', '', 'new\nline', 'ünï'];
  const result = runSh(wrap(commandShell(['printf', '[%s]', ...words])).command);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.toString(), words.map((w) => `[${w}]`).join(''));
});

test('command run locally: a secret env reaches the command, never its command line', () => {
  const decision = decideCommand({ cmd: 'printf %s "$TOKEN"', env: { TOKEN: new Secret('t0k3n value') } }, {}, { dryRun: false });
  assert.equal(decision.kind, 'change');
  const step = decision.kind === 'change' ? decision.steps[0]! : undefined;
  assert.ok(step?.kind === 'exec');
  const prepared = wrap(step.command, { env: step.env! });
  assert.ok(!prepared.command.includes('t0k3n'));
  const result = runSh(prepared.command, { stdin: prepared.stdinPrefix });
  assert.equal(result.stdout.toString(), 't0k3n value');
});

const BUILD_ERRORS: { name: string; options: Record<string, unknown>; message: string }[] = [
  { name: 'an empty argv', options: { cmd: [] }, message: 'command: cmd must not be an empty array' },
  { name: 'an empty string', options: { cmd: '  ' }, message: 'command: cmd must not be empty' },
  { name: 'a missing cmd', options: { creates: '/x' }, message: 'command: option "cmd" is required' },
  { name: 'a non-string argv element', options: { cmd: ['ls', 3] }, message: 'command: option "cmd" must be a string or an array of strings' },
  { name: 'a misspelt option', options: { cmd: 'x', create: '/x' }, message: 'command: unknown option "create" (did you mean "creates"?)' },
];

for (const c of BUILD_ERRORS) {
  test(`command() rejects ${c.name}`, () => {
    assert.throws(() => command(c.options as never), (error: unknown) => {
      assert.equal((error as Error).name, 'PlaybookError');
      assert.ok((error as Error).message.endsWith(c.message), (error as Error).message);
      return true;
    });
  });
}

const DESCRIBE: [CommandOptions, string][] = [
  [{ cmd: 'echo hi' }, 'echo hi'],
  [{ cmd: ['a', 'b c'] }, 'a b c'],
  [{ cmd: 'x'.repeat(61) }, `${'x'.repeat(57)}...`],
  [{ cmd: 'y'.repeat(60) }, 'y'.repeat(60)],
];

for (const [options, expected] of DESCRIBE) {
  test(`command describe: ${JSON.stringify(options.cmd).slice(0, 30)}`, () => assert.equal(commandModule.describe(options), expected));
}
