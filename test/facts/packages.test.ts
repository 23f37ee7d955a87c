import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EffectStore } from '../../src/facts/effects.js';
import { packagesFact, parsePackages, type PackagesFact, type PackagesFactArgs } from '../../src/facts/packages.js';
import { runSh } from '../shell/run-sh.js';

const ROOT = mkdtempSync(path.join(tmpdir(), 'is-provision-packages-'));
const HAS_APT = existsSync('/usr/bin/apt-get') && existsSync('/usr/bin/dpkg-query');

function factHere(args: PackagesFactArgs, env: NodeJS.ProcessEnv = {}): { fact: PackagesFact; stdout: string } {
  const result = runSh(packagesFact.definition.command(args).text, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/root', LC_ALL: 'C', ...env },
  });
  assert.equal(result.code, 0, result.stderr);
  const stdout = result.stdout.toString('utf8');
  return { fact: packagesFact.definition.parse(stdout, args), stdout };
}

interface ParseCase {
  name: string;
  args: PackagesFactArgs;
  /** Captured from real hosts where noted. */
  stdout: string;
  expected: PackagesFact;
}

const PARSE: ParseCase[] = [
  {
    name: 'apt on Debian 12 (captured): installed, unknown to dpkg with a candidate, unknown to apt',
    args: { names: ['nginx', 'hello', 'nosuchpkg-xyz'], candidates: 'missing' },
    stdout:
      'manager=apt\nos=debian\npkg=nginx|ii |1.22.1-9+deb12u12\npkg=hello|\ncandidate=hello|2.10-3\npkg=nosuchpkg-xyz|\ncandidate=nosuchpkg-xyz|\nindex_files=3\nindex_age=1643\n',
    expected: {
      manager: 'apt',
      os: 'debian',
      indexFiles: 3,
      indexAge: 1643,
      packages: [
        { name: 'nginx', status: 'installed', version: '1.22.1-9+deb12u12' },
        { name: 'hello', status: 'not-installed', candidate: '2.10-3' },
        { name: 'nosuchpkg-xyz', status: 'not-installed' },
      ],
    },
  },
  {
    name: 'apt latest: a candidate newer than the installed version is an upgrade; a virtual package has "(none)"',
    args: { names: ['curl', 'dash', 'mail-transport-agent'], candidates: 'all' },
    stdout:
      'manager=apt\nos=ubuntu\npkg=curl|ii |7.88.1-10\ncandidate=curl|7.88.1-10+deb12u5\npkg=dash|ii |0.5.12-2\ncandidate=dash|0.5.12-2\npkg=mail-transport-agent|\ncandidate=mail-transport-agent|(none)\nindex_files=0\n',
    expected: {
      manager: 'apt',
      os: 'ubuntu',
      indexFiles: 0,
      packages: [
        { name: 'curl', status: 'installed', version: '7.88.1-10', candidate: '7.88.1-10+deb12u5', upgrade: '7.88.1-10+deb12u5' },
        { name: 'dash', status: 'installed', version: '0.5.12-2', candidate: '0.5.12-2' },
        { name: 'mail-transport-agent', status: 'not-installed', candidate: '(none)' },
      ],
    },
  },
  {
    name: 'dnf: epoch versions from rpm; check-update lines name.arch, wrapped ones joined',
    args: { names: ['nginx', 'openssl', 'git'], candidates: 'all' },
    stdout:
      'manager=dnf\nos=rocky\npkg=nginx|ii |1:1.20.1-14.el9\npkg=openssl|ii |1:3.0.7-24.el9\npkg=git||\nupgrade=nginx.x86_64|1:1.20.1-14.el9_2.1\n',
    expected: {
      manager: 'dnf',
      os: 'rocky',
      packages: [
        { name: 'nginx', status: 'installed', version: '1:1.20.1-14.el9', upgrade: '1:1.20.1-14.el9_2.1' },
        { name: 'openssl', status: 'installed', version: '1:3.0.7-24.el9' },
        { name: 'git', status: 'not-installed' },
      ],
    },
  },
  {
    name: 'apk: an upgrade line is name-version, matched against the installed version (names hold dashes)',
    args: { names: ['py3-pip', 'py3'], candidates: 'all' },
    stdout: 'manager=apk\nos=alpine\npkg=py3-pip|ii |23.3.1-r0\npkg=py3||\nupgrade=py3-pip-23.3.1-r0|23.3.2-r0\n',
    expected: {
      manager: 'apk',
      os: 'alpine',
      packages: [
        { name: 'py3-pip', status: 'installed', version: '23.3.1-r0', upgrade: '23.3.2-r0' },
        { name: 'py3', status: 'not-installed' },
      ],
    },
  },
  {
    name: 'pacman and brew: exact names',
    args: { names: ['nginx'], candidates: 'all' },
    stdout: 'brew=/opt/homebrew/bin/brew\nmanager=brew\nos=macos\npkg=nginx|ii |1.25.3\nupgrade=nginx|1.25.4\n',
    expected: { manager: 'brew', os: 'macos', brew: '/opt/homebrew/bin/brew', packages: [{ name: 'nginx', status: 'installed', version: '1.25.3', upgrade: '1.25.4' }] },
  },
  {
    name: 'no manager at all',
    args: { names: ['nginx'], candidates: 'missing' },
    stdout: 'manager=none\npkg=nginx||\n',
    expected: { packages: [{ name: 'nginx', status: 'not-installed' }] },
  },
];

for (const c of PARSE) {
  test(`parse: ${c.name}`, () => {
    assert.deepEqual(parsePackages(c.stdout, c.args), c.expected);
  });
}

/** A dpkg database in every state a package can be in, read by the real dpkg-query. */
function fakeDpkg(): string {
  const admin = path.join(ROOT, 'dpkg');
  mkdirSync(path.join(admin, 'updates'), { recursive: true });
  mkdirSync(path.join(admin, 'info'), { recursive: true });
  const entry = (name: string, status: string, version?: string, extra = '') =>
    `Package: ${name}\nStatus: ${status}\n${version ? `Version: ${version}\n` : ''}Architecture: all\nMaintainer: x <x@example.org>\nDescription: x\n${extra}`;
  writeFileSync(
    path.join(admin, 'status'),
    [
      entry('ok-pkg', 'install ok installed', '1.0-1'),
      entry('rc-pkg', 'deinstall ok config-files', '2.0-1'),
      entry('half-pkg', 'install reinstreq half-configured', '3.0-1'),
      entry('held-pkg', 'hold ok installed', '4.0-1'),
      entry('trig-pkg', 'install ok triggers-pending', '5.0-1', 'Triggers-Pending: ldconfig\n'),
      entry('gone-pkg', 'purge ok not-installed'),
      entry('unp-pkg', 'install ok unpacked', '6.0-1'),
    ].join('\n'),
  );
  // The fact's own command runs, with dpkg-query pointed at this database.
  const bin = path.join(ROOT, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(path.join(bin, 'dpkg-query'), `#!/bin/sh\nexec /usr/bin/dpkg-query --admindir=${admin} "$@"\n`);
  chmodSync(path.join(bin, 'dpkg-query'), 0o755);
  return bin;
}

test('apt: every dpkg state, from a real dpkg-query; config-files and half-configured are not installed', { skip: !HAS_APT }, () => {
  const names = ['ok-pkg', 'rc-pkg', 'half-pkg', 'held-pkg', 'trig-pkg', 'gone-pkg', 'unp-pkg', 'never-heard-of'];
  const bin = fakeDpkg();
  const { fact, stdout } = factHere({ names, candidates: 'none' }, { PATH: `${bin}:${process.env.PATH}` });
  assert.match(stdout, /^pkg=rc-pkg\|rc \|2\.0-1$/m);
  assert.match(stdout, /^pkg=half-pkg\|iFR\|3\.0-1$/m);
  assert.deepEqual(fact.packages, [
    { name: 'ok-pkg', status: 'installed', version: '1.0-1' },
    { name: 'rc-pkg', status: 'config-files', version: '2.0-1' },
    { name: 'half-pkg', status: 'half-configured', version: '3.0-1' },
    { name: 'held-pkg', status: 'installed', version: '4.0-1', held: true },
    { name: 'trig-pkg', status: 'installed', version: '5.0-1' },
    { name: 'gone-pkg', status: 'not-installed' },
    { name: 'unp-pkg', status: 'unpacked', version: '6.0-1' },
    { name: 'never-heard-of', status: 'not-installed' },
  ]);
});

test('apt: the fact run here reads the real dpkg database and index, and only asks candidates of missing packages', { skip: !HAS_APT }, () => {
  const dashVersion = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'dash']).toString();
  const { fact, stdout } = factHere({ names: ['dash', 'libc6:amd64', 'hello', 'nosuchpkg-xyz'], candidates: 'missing' });
  assert.equal(fact.manager, 'apt');
  assert.equal(fact.os, 'debian');
  assert.deepEqual(fact.packages[0], { name: 'dash', status: 'installed', version: dashVersion });
  assert.equal(fact.packages[1]?.status, 'installed', 'an arch-qualified name is asked as given');
  assert.doesNotMatch(stdout, /^candidate=dash\|/m, 'no index lookup for an installed package');
  const hello = fact.packages[2]!;
  if (hello.status === 'not-installed') assert.match(hello.candidate ?? '', /^\d/, 'hello has a candidate in the Debian index');
  assert.deepEqual(fact.packages[3], { name: 'nosuchpkg-xyz', status: 'not-installed' });
  assert.ok((fact.indexFiles ?? 0) > 0, 'this machine has package lists');
  assert.ok(fact.indexAge !== undefined && fact.indexAge >= 0);
});

test('apt latest: every name gets a candidate; hostile names stay one word', { skip: !HAS_APT }, () => {
  const { fact } = factHere({ names: ['dash', "x'; touch /tmp/pwned-pkg; '"], candidates: 'all' });
  const dash = fact.packages[0]!;
  assert.equal(dash.candidate, dash.version, 'nothing newer for dash in the index here');
  assert.equal(dash.upgrade, undefined);
  assert.equal(existsSync('/tmp/pwned-pkg'), false);
});

test('the command is read-only POSIX sh and ends with exit 0', () => {
  const text = packagesFact.definition.command({ names: ['nginx'], candidates: 'all' }).text;
  assert.match(text, /\nexit 0$/);
  assert.doesNotMatch(text, /apt-get (update|install)|dnf (install|makecache)|apk (add|update)|\[\[/);
  execFileSync('dash', ['-n', '-c', text]);
});

test('refine: packages an earlier task installs or removes are taken as it leaves them', () => {
  const effects = new EffectStore();
  effects.record({ kind: 'package', name: 'nginx', installed: true }, 'install nginx');
  effects.record({ kind: 'package', name: 'curl', installed: false }, 'remove curl');
  const value: PackagesFact = {
    manager: 'apt',
    packages: [
      { name: 'nginx', status: 'not-installed' },
      { name: 'curl', status: 'installed', version: '7.88.1-10' },
      { name: 'dash', status: 'installed', version: '0.5.12-2' },
    ],
  };
  assert.deepEqual(packagesFact.definition.refine!(value, { names: ['nginx', 'curl', 'dash'], candidates: 'missing' }, effects), {
    manager: 'apt',
    packages: [
      { name: 'nginx', status: 'not-installed', planned: { by: 'install nginx', installed: true } },
      { name: 'curl', status: 'installed', version: '7.88.1-10', planned: { by: 'remove curl', installed: false } },
      { name: 'dash', status: 'installed', version: '0.5.12-2' },
    ],
  });
});
