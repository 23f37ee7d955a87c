/**
 * The modules' steps run for real with the local sh (through wrap(), as the engine runs them, without
 * sudo), against temp files; then deciding again must find nothing to do.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, statSync, lstatSync, realpathSync, existsSync, chmodSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { copyModule, type FileContentPlan } from '../../src/modules/copy.js';
import { lineModule, type LineOptions } from '../../src/modules/line.js';
import { hostsEntryModule, type HostsEntryOptions } from '../../src/modules/hosts-entry.js';
import { fileModule, type FileOptions } from '../../src/modules/file.js';
import { commandModule } from '../../src/modules/command.js';
import type { Decision } from '../../src/modules/decision.js';
import { LOCAL_GROUP, LOCAL_USER, STAMP, applyHere, decideHere } from './helpers.js';

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = realpathSync(mkdtempSync(path.join(tmpdir(), 'is-provision-apply-')));
  made.push(d);
  return d;
}

const modeOf = (p: string): string => (statSync(p).mode & 0o7777).toString(8).padStart(4, '0');
const leftovers = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('.is-provision.'));

function expectChange(decision: Decision): void {
  assert.equal(decision.kind, 'change', decision.reason);
}

function expectNoop(decision: Decision): void {
  assert.equal(decision.kind, 'noop', `expected noop, got: ${decision.reason}`);
}

const HOSTILE_CONTENT = [
  '$(touch PWNED1)',
  '`touch PWNED2`',
  '; touch PWNED3; echo',
  "'single' \"double\" \\backslash\\ $HOME ${PATH}",
  'EOF',
  '',
  '\ttabbed  spaced  ',
  'ünïcødé ✓',
  'no newline at the end',
].join('\n');

const NAMES = ["it's a \"conf\" file.txt", 'plain.conf', '-starts-with-dash', 'sp ace', '$(touch PWNED4)', 'new\nline'];

for (const name of NAMES) {
  test(`copy applied: hostile content arrives literally in ${JSON.stringify(name)}, with its mode, atomically`, () => {
    const dir = tempDir();
    const dest = path.join(dir, name);
    const plan: FileContentPlan = { dest, content: Buffer.from(HOSTILE_CONTENT), mode: '0600' };
    const decision = decideHere(copyModule, plan);
    expectChange(decision);
    applyHere(decision);
    assert.equal(readFileSync(dest, 'utf8'), HOSTILE_CONTENT);
    assert.equal(modeOf(dest), '0600');
    assert.deepEqual(leftovers(dir), []);
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.includes('PWNED')),
      name.includes('PWNED') ? [name] : [],
      'nothing in the content or the name ran',
    );
    expectNoop(decideHere(copyModule, plan));
  });
}

test('copy applied: binary content with every byte value', () => {
  const dir = tempDir();
  const dest = path.join(dir, 'blob.bin');
  const content = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 7) % 256));
  const plan: FileContentPlan = { dest, content };
  applyHere(decideHere(copyModule, plan));
  assert.deepEqual(readFileSync(dest), content);
  assert.equal(modeOf(dest), '0644');
  expectNoop(decideHere(copyModule, plan));
});

test('copy applied: an empty file', () => {
  const dir = tempDir();
  const dest = path.join(dir, 'empty');
  const plan: FileContentPlan = { dest, content: Buffer.alloc(0) };
  applyHere(decideHere(copyModule, plan));
  assert.equal(readFileSync(dest, 'utf8'), '');
  expectNoop(decideHere(copyModule, plan));
});

test('copy applied: new content over an existing file keeps its mode, and a backup is made when asked', () => {
  const dir = tempDir();
  const dest = path.join(dir, "app's.conf");
  writeFileSync(dest, 'old content\n');
  chmodSync(dest, 0o640);
  const plan: FileContentPlan = { dest, content: Buffer.from('new content\n'), backup: true };
  const decision = decideHere(copyModule, plan);
  expectChange(decision);
  applyHere(decision);
  assert.equal(readFileSync(dest, 'utf8'), 'new content\n');
  assert.equal(modeOf(dest), '0640');
  const backup = `${dest}.${STAMP}~`;
  assert.equal(readFileSync(backup, 'utf8'), 'old content\n');
  assert.equal(modeOf(backup), '0640');
  assert.deepEqual(leftovers(dir), []);
  expectNoop(decideHere(copyModule, plan));
});

test('copy applied: no backup is made when the file is new', () => {
  const dir = tempDir();
  const dest = path.join(dir, 'new.conf');
  applyHere(decideHere(copyModule, { dest, content: Buffer.from('x'), backup: true }));
  assert.deepEqual(readdirSync(dir), ['new.conf']);
});

test('copy applied: mode only, then owner and group', () => {
  const dir = tempDir();
  const dest = path.join(dir, 'attrs');
  writeFileSync(dest, 'same');
  chmodSync(dest, 0o644);
  const plan: FileContentPlan = { dest, content: Buffer.from('same'), mode: '0600', owner: LOCAL_USER, group: LOCAL_GROUP };
  const decision = decideHere(copyModule, plan);
  expectChange(decision);
  assert.equal(decision.reason, `${dest} mode 0644 → 0600`);
  applyHere(decision);
  assert.equal(modeOf(dest), '0600');
  expectNoop(decideHere(copyModule, plan));
});

test('copy applied: a failing write leaves the old file and no temp file', () => {
  const dir = tempDir();
  const dest = path.join(dir, 'keep.conf');
  writeFileSync(dest, 'precious\n');
  const decision = decideHere(copyModule, { dest, content: Buffer.from('replacement\n'), owner: 'no-such-user-is-provision' });
  expectChange(decision);
  assert.throws(() => applyHere(decision), /step failed/);
  assert.equal(readFileSync(dest, 'utf8'), 'precious\n');
  assert.deepEqual(leftovers(dir), []);
});

test('copy applied: a dangling link is replaced by the file', () => {
  const dir = tempDir();
  const dest = path.join(dir, 'link');
  symlinkSync(path.join(dir, 'nowhere'), dest);
  const plan: FileContentPlan = { dest, content: Buffer.from('real\n') };
  const decision = decideHere(copyModule, plan);
  assert.equal(decision.reason, `${dest} would be created in place of a dangling link (5 bytes)`);
  applyHere(decision);
  assert.equal(readFileSync(dest, 'utf8'), 'real\n');
  assert.ok(!lstatSync(dest).isSymbolicLink());
  assert.ok(!existsSync(path.join(dir, 'nowhere')));
  expectNoop(decideHere(copyModule, plan));
});

const HOSTS = [
  '# static table',
  '127.0.0.1\tlocalhost',
  '::1 localhost ip6-localhost',
  '10.0.0.5 db.internal db # database',
  '10.0.0.6 cache',
  '10.0.0.6 cache2',
  '',
].join('\n');

const HOSTS_STEPS: { options: HostsEntryOptions; after: string }[] = [
  {
    options: { ip: '127.0.0.1', names: ['is.wso2.com'] },
    after: HOSTS.replace('127.0.0.1\tlocalhost', '127.0.0.1 localhost is.wso2.com'),
  },
  {
    options: { ip: '10.0.0.9', names: ['app.internal', 'db'] },
    after: [
      '# static table',
      '127.0.0.1 localhost is.wso2.com',
      '::1 localhost ip6-localhost',
      '10.0.0.5 db.internal # database',
      '10.0.0.6 cache',
      '10.0.0.6 cache2',
      '10.0.0.9 app.internal db',
      '',
    ].join('\n'),
  },
  {
    options: { ip: '10.0.0.6', names: ['cache3'] },
    after: [
      '# static table',
      '127.0.0.1 localhost is.wso2.com',
      '::1 localhost ip6-localhost',
      '10.0.0.5 db.internal # database',
      '10.0.0.6 cache cache3 cache2',
      '10.0.0.9 app.internal db',
      '',
    ].join('\n'),
  },
  {
    options: { ip: '10.0.0.9', names: ['db'], state: 'absent' },
    after: [
      '# static table',
      '127.0.0.1 localhost is.wso2.com',
      '::1 localhost ip6-localhost',
      '10.0.0.5 db.internal # database',
      '10.0.0.6 cache cache3 cache2',
      '10.0.0.9 app.internal',
      '',
    ].join('\n'),
  },
  {
    options: { ip: '10.0.0.5', state: 'absent' },
    after: ['# static table', '127.0.0.1 localhost is.wso2.com', '::1 localhost ip6-localhost', '10.0.0.6 cache cache3 cache2', '10.0.0.9 app.internal', ''].join(
      '\n',
    ),
  },
];

test('hostsEntry applied to a temp hosts file, step after step; each re-decided is a noop', () => {
  const dir = tempDir();
  const hosts = path.join(dir, 'hosts');
  writeFileSync(hosts, HOSTS);
  chmodSync(hosts, 0o644);
  for (const { options, after } of HOSTS_STEPS) {
    const withPath = { ...options, path: hosts };
    const decision = decideHere(hostsEntryModule, withPath);
    expectChange(decision);
    applyHere(decision);
    assert.equal(readFileSync(hosts, 'utf8'), after, JSON.stringify(options));
    assert.equal(modeOf(hosts), '0644');
    expectNoop(decideHere(hostsEntryModule, withPath));
  }
  assert.deepEqual(leftovers(dir), []);
});

const LINE_STEPS: { options: Omit<LineOptions, 'path'>; after: string }[] = [
  { options: { regexp: '^MODE=', line: 'MODE=prod' }, after: 'A=1\nMODE=dev\nMODE=prod\nlast' + '\n' },
  { options: { line: '# managed', insertBefore: 'BOF' }, after: '# managed\nA=1\nMODE=dev\nMODE=prod\nlast\n' },
  { options: { line: 'B=2', insertAfter: '^A=' }, after: '# managed\nA=1\nB=2\nMODE=dev\nMODE=prod\nlast\n' },
  { options: { regexp: '^MODE=', state: 'absent' }, after: '# managed\nA=1\nB=2\nlast\n' },
  { options: { line: "Q='$(x)' `y`; z", insertBefore: '^last$' }, after: "# managed\nA=1\nB=2\nQ='$(x)' `y`; z\nlast\n" },
];

test('line applied to a temp file without a trailing newline, step after step; each re-decided is a noop', () => {
  const dir = tempDir();
  const file = path.join(dir, 'app env');
  writeFileSync(file, 'A=1\nMODE=dev\nMODE=test\nlast');
  chmodSync(file, 0o600);
  for (const { options, after } of LINE_STEPS) {
    const withPath = { ...options, path: file };
    const decision = decideHere(lineModule, withPath);
    expectChange(decision);
    applyHere(decision);
    assert.equal(readFileSync(file, 'utf8'), after, JSON.stringify(options));
    assert.equal(modeOf(file), '0600', 'the file keeps its mode');
    expectNoop(decideHere(lineModule, withPath));
  }
  assert.deepEqual(leftovers(dir), []);
});

test('line applied: create a missing file', () => {
  const dir = tempDir();
  const file = path.join(dir, 'new');
  const options = { path: file, line: 'X=1', create: true };
  applyHere(decideHere(lineModule, options));
  assert.equal(readFileSync(file, 'utf8'), 'X=1\n');
  assert.equal(modeOf(file), '0644');
  expectNoop(decideHere(lineModule, options));
});

function withUmask<T>(mask: number, run: () => T): T {
  const old = process.umask(mask);
  try {
    return run();
  } finally {
    process.umask(old);
  }
}

const FILE_STEPS: { options: Omit<FileOptions, 'path'>; check: (p: string) => void }[] = [
  { options: { state: 'directory', mode: '0755' }, check: (p) => assert.ok(statSync(p).isDirectory() && modeOf(p) === '0755', modeOf(p)) },
  { options: { state: 'directory', mode: '0750' }, check: (p) => assert.equal(modeOf(p), '0750') },
  { options: { state: 'absent' }, check: (p) => assert.ok(!existsSync(p)) },
  { options: { state: 'touch', mode: '0644' }, check: (p) => assert.ok(statSync(p).isFile() && modeOf(p) === '0644', modeOf(p)) },
  { options: { state: 'file', mode: '0600', owner: LOCAL_USER, group: LOCAL_GROUP }, check: (p) => assert.equal(modeOf(p), '0600') },
  { options: { state: 'absent' }, check: (p) => assert.ok(!existsSync(p)) },
  { options: { state: 'touch' }, check: (p) => assert.equal(modeOf(p), '0644') },
];

test('file applied under a strict umask: named modes are set, even the default ones; each re-decided is a noop', () => {
  const dir = tempDir();
  const target = path.join(dir, "sub dir 'x'");
  withUmask(0o077, () => {
    for (const { options, check } of FILE_STEPS) {
      const withPath = { ...options, path: target };
      const decision = decideHere(fileModule, withPath);
      expectChange(decision);
      applyHere(decision);
      check(target);
      expectNoop(decideHere(fileModule, withPath));
    }
  });
});

test('file applied: a directory with its parents', () => {
  const dir = tempDir();
  const target = path.join(dir, 'a', 'b', 'c');
  const options: FileOptions = { path: target, state: 'directory' };
  applyHere(decideHere(fileModule, options));
  assert.ok(statSync(target).isDirectory());
  expectNoop(decideHere(fileModule, options));
});

test('command applied: creates makes the second run a noop', () => {
  const dir = tempDir();
  const marker = path.join(dir, 'done marker');
  const options = { cmd: ['sh', '-c', 'printf ran > "$1"', 'sh', marker], creates: marker };
  const decision = decideHere(commandModule, options);
  expectChange(decision);
  applyHere(decision);
  assert.equal(readFileSync(marker, 'utf8'), 'ran');
  const again = decideHere(commandModule, options);
  assert.deepEqual(again, { kind: 'noop', reason: `${marker} exists` });
});

test('command applied: cwd and env reach a shell command', () => {
  const dir = tempDir();
  const options = { cmd: 'printf "%s" "$GREETING" > out; pwd >> out', cwd: dir, env: { GREETING: 'hello there' } };
  applyHere(decideHere(commandModule, options));
  assert.equal(readFileSync(path.join(dir, 'out'), 'utf8'), `hello there${dir}\n`);
});
