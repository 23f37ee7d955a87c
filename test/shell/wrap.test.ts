import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, chmodSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sh, raw, quote } from '../../src/shell/quote.js';
import { Secret } from '../../src/shell/secret.js';
import { wrap, type WrapOptions } from '../../src/shell/wrap.js';
import { HOSTILE, runSh } from './run-sh.js';

const SECRET = 's3cr3t-value';

const CASES: { name: string; command: string; options: WrapOptions; expected: string; stdinPrefix: string }[] = [
  { name: 'plain', command: 'id', options: {}, expected: 'sh -c id', stdinPrefix: '' },
  { name: 'quoted inner command', command: "echo 'a b'", options: {}, expected: `sh -c 'echo '\\''a b'\\'''`, stdinPrefix: '' },
  { name: 'sudo', command: 'id', options: { sudo: true }, expected: 'sudo -n -H -- sh -c id', stdinPrefix: '' },
  {
    name: 'sudo with password',
    command: 'id',
    options: { sudo: true, sudoPassword: new Secret(SECRET) },
    expected: "sudo -k -S -p '' -H -- sh -c id",
    stdinPrefix: `${SECRET}\n`,
  },
  { name: 'password without sudo is ignored', command: 'id', options: { sudoPassword: new Secret(SECRET) }, expected: 'sh -c id', stdinPrefix: '' },
  { name: 'cwd', command: 'id', options: { cwd: '/srv/app' }, expected: "sh -c 'cd -- /srv/app && { id\n}'", stdinPrefix: '' },
  {
    name: 'cwd with spaces and quotes',
    command: 'id',
    options: { cwd: "/srv/my app's" },
    expected: `sh -c 'cd -- '\\''/srv/my app'\\''\\'\\'''\\''s'\\'' && { id\n}'`,
    stdinPrefix: '',
  },
  {
    name: 'plain env',
    command: 'id',
    options: { env: { A: 1, B: 'x y' } },
    expected: `sh -c 'export A=1 B='\\''x y'\\'' && { id\n}'`,
    stdinPrefix: '',
  },
  {
    name: 'secret env',
    command: 'id',
    options: { env: { TOKEN: new Secret(SECRET) } },
    expected: `sh -c 'IFS= read -r TOKEN && export TOKEN && { id\n}'`,
    stdinPrefix: `${SECRET}\n`,
  },
  {
    name: 'everything: sudo password first, then secret env in order',
    command: 'id',
    options: { sudo: true, sudoPassword: new Secret('pw'), cwd: '/d', env: { A: 'a', T1: new Secret('one'), T2: new Secret('two') } },
    expected: `sudo -k -S -p '' -H -- sh -c 'cd -- /d && IFS= read -r T1 && export T1 && IFS= read -r T2 && export T2 && export A=a && { id\n}'`,
    stdinPrefix: 'pw\none\ntwo\n',
  },
];

for (const c of CASES) {
  test(`wrap: ${c.name}`, () => {
    const prepared = wrap(raw(c.command), c.options);
    assert.equal(prepared.command, c.expected);
    assert.equal(prepared.display, c.expected);
    assert.equal(prepared.stdinPrefix, c.stdinPrefix);
    for (const secret of [SECRET, 'one', 'two']) assert.ok(!prepared.command.includes(secret), `secret ${secret} in the command`);
  });
}

const ERRORS: { name: string; options: WrapOptions; message: string }[] = [
  { name: 'env name with a space', options: { env: { 'A B': '1' } }, message: 'invalid environment variable name "A B"' },
  { name: 'env name starting with a digit', options: { env: { '1A': '1' } }, message: 'invalid environment variable name "1A"' },
  { name: 'env name with shell in it', options: { env: { 'A=$(id);B': '1' } }, message: 'invalid environment variable name "A=$(id);B"' },
  { name: 'secret with a newline', options: { env: { K: new Secret('a\nb') } }, message: 'secret env K holds a newline; pass it as a file' },
];

for (const c of ERRORS) {
  test(`wrap rejects ${c.name}`, () => {
    assert.throws(() => wrap(raw('id'), c.options), { name: 'TypeError', message: c.message });
  });
}

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = realpathSync(mkdtempSync(path.join(tmpdir(), 'is-provision-wrap-')));
  made.push(d);
  return d;
}

test('wrap run locally: cwd reaches the command', () => {
  const dir = path.join(tempDir(), "dir with 'quotes' and $(x)");
  mkdirSync(dir);
  const prepared = wrap(raw('pwd'), { cwd: dir });
  const result = runSh(prepared.command, { stdin: prepared.stdinPrefix });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.toString(), `${dir}\n`);
});

// Commands as a user writes them for the command module: none of their parts may run when cd fails.
const MISSING_CWD_COMMANDS = ['pwd; touch ran', 'false || touch ran', 'pwd\ntouch ran', 'touch ran &', 'touch ran # comment', 'true && touch ran'];

for (const command of MISSING_CWD_COMMANDS) {
  test(`wrap run locally: a missing cwd fails instead of running in $HOME: ${JSON.stringify(command)}`, () => {
    const dir = tempDir();
    const home = tempDir();
    for (const options of [{ cwd: path.join(dir, 'missing') }, { cwd: path.join(dir, 'missing'), env: { A: '1', S: new Secret('s') } }]) {
      const prepared = wrap(raw(command), options);
      const result = runSh(prepared.command, { cwd: home, stdin: prepared.stdinPrefix, env: { PATH: process.env.PATH, HOME: home } });
      assert.notEqual(result.code, 0);
      assert.equal(result.stdout.toString(), '');
      assert.match(result.stderr, /missing/);
      assert.notEqual(runSh(`sleep 0.05; test -e ${quote(path.join(home, 'ran'))}`).code, 0, 'no part of the command may run');
    }
  });
}

test('wrap run locally: commands with ;, ||, & and several lines still run whole in the cwd', () => {
  const dir = tempDir();
  const prepared = wrap(raw('false || printf a; printf b\nprintf c # comment\ncat <<EOF\nd $A\nEOF'), { cwd: dir, env: { A: 'x' } });
  const result = runSh(prepared.command);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.toString(), 'abcd x\n');
});

test('wrap run locally: a cwd starting with "-" is a directory, not an option', () => {
  const dir = tempDir();
  mkdirSync(path.join(dir, '-P'));
  const prepared = wrap(raw('pwd'), { cwd: '-P' });
  const result = runSh(prepared.command, { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.toString(), `${dir}/-P\n`);
});

for (const value of HOSTILE.filter((v) => v !== '')) {
  test(`wrap run locally: plain env value arrives intact: ${JSON.stringify(value)}`, () => {
    const prepared = wrap(raw('printf %s "$VALUE"'), { env: { VALUE: value } });
    const result = runSh(prepared.command);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout, Buffer.from(value));
  });
}

const SECRET_VALUES = ['simple', '  leading and trailing spaces  ', 'back\\slash\\n', "quo'te\"s", '$(touch /tmp/x) `y`; z', 'tab\tinside', ''];

for (const value of SECRET_VALUES) {
  test(`wrap run locally: secret env arrives over stdin, not in the command: ${JSON.stringify(value)}`, () => {
    const prepared = wrap(raw('printf %s "$TOKEN"'), { env: { TOKEN: new Secret(value) } });
    if (value.length > 2) assert.ok(!prepared.command.includes(value));
    const result = runSh(prepared.command, { stdin: prepared.stdinPrefix });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.toString(), value);
  });
}

test('wrap run locally: cwd, plain env and two secrets together; the rest of stdin reaches the command', () => {
  const dir = tempDir();
  const prepared = wrap(sh`printf '%s|%s|%s|%s|' "$(pwd)" "$PLAIN" "$ONE" "$TWO"; cat`, {
    cwd: dir,
    env: { PLAIN: 'p l a i n', ONE: new Secret('first secret'), TWO: new Secret('second secret') },
  });
  assert.ok(!prepared.command.includes('first secret') && !prepared.command.includes('second secret'));
  const result = runSh(prepared.command, { stdin: prepared.stdinPrefix + 'file content\nmore\n' });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.toString(), `${dir}|p l a i n|first secret|second secret|file content\nmore\n`);
});

test('wrap run locally: the secret does not leak into the process list arguments', () => {
  // The command line is what `ps` shows: it must not carry the value.
  const prepared = wrap(raw('cat /proc/$$/cmdline | tr "\\0" " "'), { env: { TOKEN: new Secret('visible-if-leaked') } });
  const result = runSh(prepared.command, { stdin: prepared.stdinPrefix });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!result.stdout.toString().includes('visible-if-leaked'), result.stdout.toString());
});

test('wrap run locally with a fake sudo: the password is the first stdin line, the command gets the rest', () => {
  const bin = tempDir();
  const seen = path.join(bin, 'password-seen');
  // Reads the password line as sudo -S does, records it, then runs the command after "--".
  writeFileSync(
    path.join(bin, 'sudo'),
    `#!/bin/sh\nIFS= read -r pw\nprintf %s "$pw" > ${quote(seen)}\nwhile [ "$1" != -- ]; do shift; done\nshift\nexec "$@"\n`,
  );
  chmodSync(path.join(bin, 'sudo'), 0o755);
  const prepared = wrap(raw('printf "%s|" "$TOKEN"; cat'), {
    sudo: true,
    sudoPassword: new Secret('sudo pw'),
    env: { TOKEN: new Secret('tok') },
  });
  const result = runSh(prepared.command, { stdin: prepared.stdinPrefix + 'payload', env: { PATH: `${bin}:${process.env.PATH}` } });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.toString(), 'tok|payload');
  assert.equal(runSh(`cat ${quote(seen)}`).stdout.toString(), 'sudo pw');
  rmSync(bin, { recursive: true, force: true });
});
