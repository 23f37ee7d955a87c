import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { PackageInfo, PackagesFact } from '../../src/facts/packages.js';
import { TaskFailure, type Decision } from '../../src/modules/decision.js';
import { decidePackages, duration, packages, packagesModule, type PackagesOptions, type PackagesPlan } from '../../src/modules/packages.js';
import { raw } from '../../src/shell/quote.js';
import { wrap } from '../../src/shell/wrap.js';
import { context, decideHere, summary } from './helpers.js';

const plan = (o: PackagesOptions): PackagesPlan => packagesModule.prepare!(o, undefined as never) as PackagesPlan;

const APT_INSTALL =
  'DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';
const APT_REFRESH = 'apt-get update -q -o DPkg::Lock::Timeout=120 && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp';

/** The apt steps' commands run with their output in a file (see outputInFile). */
const inFile = (command: string): string =>
  `t=$(mktemp) || exit 1\n( ${command}\n) </dev/null >"$t" 2>&1\nrc=$?\nif [ "$rc" -eq 0 ]; then cat "$t"; else cat "$t" >&2; fi\nrm -f "$t"\nexit "$rc"`;

const nginx: PackageInfo = { name: 'nginx', status: 'installed', version: '1.22.1-9+deb12u12' };
const curlOld: PackageInfo = { name: 'curl', status: 'installed', version: '7.88.1-10', candidate: '7.88.1-10+deb12u5', upgrade: '7.88.1-10+deb12u5' };
const unzipMissing: PackageInfo = { name: 'unzip', status: 'not-installed', candidate: '6.0-28' };
const apt = (packages: PackageInfo[], extra: Partial<PackagesFact> = {}): PackagesFact => ({ manager: 'apt', os: 'debian', indexFiles: 3, indexAge: 600, packages, ...extra });

interface Case {
  name: string;
  options: PackagesOptions;
  fact: PackagesFact;
  become?: boolean;
  expected: unknown;
  effects?: unknown;
}

const CASES: Case[] = [
  {
    name: 'present, all installed: noop naming each version, no index refresh even with updateCache',
    options: { names: ['nginx', 'dash'], updateCache: true },
    fact: apt([nginx, { name: 'dash', status: 'installed', version: '0.5.12-2' }], { indexAge: 999999 }),
    expected: { kind: 'noop', reason: 'nginx 1.22.1-9+deb12u12 installed, dash 0.5.12-2 installed' },
  },
  {
    name: 'present, one missing, fresh index: one install command, no refresh',
    options: { names: ['nginx', 'unzip'] },
    fact: apt([nginx, unzipMissing]),
    expected: {
      kind: 'change',
      reason: 'install unzip 6.0-28; already: nginx 1.22.1-9+deb12u12 installed',
      steps: [{ command: inFile(`${APT_INSTALL} unzip`), label: 'install unzip' }],
    },
    effects: [{ kind: 'package', name: 'unzip', installed: true }],
  },
  {
    name: 'present on a fresh minimal image: no package lists, so refresh first',
    options: { names: 'unzip' },
    fact: apt([{ name: 'unzip', status: 'not-installed' }], { indexFiles: 0, indexAge: 99 }),
    expected: {
      kind: 'change',
      reason: 'install unzip; refresh the package index first (there is none yet)',
      steps: [
        { command: APT_REFRESH, label: 'refresh the package index' },
        { command: inFile(`${APT_INSTALL} unzip`), label: 'install unzip' },
      ],
    },
  },
  {
    name: 'present with a stale index; recommends off',
    options: { names: ['unzip', 'nginx'], cacheValidTime: 3600, installRecommends: false },
    fact: apt([unzipMissing, { name: 'nginx', status: 'config-files', version: '1.22.1-9' }], { indexAge: 3 * 86400 }),
    expected: {
      kind: 'change',
      reason: 'install unzip 6.0-28, nginx (config files only); refresh the package index first (last refreshed 3 d ago, limit 1 h)',
      steps: [
        { command: APT_REFRESH, label: 'refresh the package index' },
        { command: inFile(`${APT_INSTALL} --no-install-recommends unzip nginx`), label: 'install unzip, nginx' },
      ],
    },
  },
  {
    name: 'latest: installs the missing and upgrades the old in one apt command',
    options: { names: ['curl', 'unzip', 'nginx'], state: 'latest' },
    fact: apt([curlOld, unzipMissing, { ...nginx, candidate: nginx.version }]),
    expected: {
      kind: 'change',
      reason: 'install unzip 6.0-28; upgrade curl 7.88.1-10 → 7.88.1-10+deb12u5; already: nginx 1.22.1-9+deb12u12 installed, the newest in the index',
      steps: [{ command: inFile(`${APT_INSTALL} unzip curl`), label: 'install unzip, curl' }],
    },
    effects: [{ kind: 'package', name: 'unzip', installed: true }],
  },
  {
    name: 'latest, up to date, fresh index: noop; a held package is said to be held',
    options: { names: ['nginx', 'curl'], state: 'latest' },
    fact: apt([{ ...nginx, candidate: nginx.version }, { ...curlOld, held: true }]),
    expected: {
      kind: 'noop',
      reason: 'nginx 1.22.1-9+deb12u12 installed, the newest in the index, curl 7.88.1-10 installed and held (apt-mark hold), so not upgraded',
    },
  },
  {
    name: 'latest with a stale index: what is newest is unknown, so refresh and let apt decide',
    options: { names: ['nginx'], state: 'latest' },
    fact: apt([{ ...nginx, candidate: nginx.version }], { indexAge: 2 * 86400 }),
    expected: {
      kind: 'change',
      reason: 'refresh the package index first (last refreshed 2 d ago, limit 1 d); then install the newest nginx (1.22.1-9+deb12u12 now)',
      steps: [
        { command: APT_REFRESH, label: 'refresh the package index' },
        { command: inFile(`${APT_INSTALL} nginx`), label: 'install nginx' },
      ],
    },
    effects: [],
  },
  {
    name: 'absent: removes installed and half-configured ones; never refreshes',
    options: { names: ['nginx', 'half', 'hello'], state: 'absent', updateCache: true },
    fact: apt([nginx, { name: 'half', status: 'half-configured', version: '1.0' }, { name: 'hello', status: 'not-installed' }], { indexFiles: 0 }),
    expected: {
      kind: 'change',
      reason: 'remove nginx 1.22.1-9+deb12u12, half 1.0 (half-configured); already: hello not installed',
      steps: [{ command: inFile('DEBIAN_FRONTEND=noninteractive apt-get remove -y -q -o DPkg::Lock::Timeout=120 nginx half'), label: 'remove nginx, half' }],
    },
    effects: [
      { kind: 'package', name: 'nginx', installed: false },
      { kind: 'package', name: 'half', installed: false },
    ],
  },
  {
    name: 'absent: config files left behind are fine, unless purge',
    options: { names: ['nginx'], state: 'absent' },
    fact: apt([{ name: 'nginx', status: 'config-files', version: '1.22.1-9' }]),
    expected: { kind: 'noop', reason: 'nginx not installed (config files left; purge: true removes them)' },
  },
  {
    name: 'absent with purge: config files go too',
    options: { names: ['nginx'], state: 'absent', purge: true },
    fact: apt([{ name: 'nginx', status: 'config-files', version: '1.22.1-9' }]),
    expected: {
      kind: 'change',
      reason: 'purge nginx (config files left behind)',
      steps: [{ command: inFile('DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o DPkg::Lock::Timeout=120 nginx'), label: 'remove nginx' }],
    },
  },
  {
    name: 'dry-run: a package an earlier task installs counts as installed',
    options: { names: ['nginx'] },
    fact: apt([{ name: 'nginx', status: 'not-installed', planned: { by: 'web server', installed: true } }]),
    expected: { kind: 'noop', reason: 'nginx installed by "web server"' },
  },
  {
    name: 'dnf latest: install and upgrade are separate commands',
    options: { names: ['nginx', 'git'], state: 'latest' },
    fact: { manager: 'dnf', os: 'rocky', packages: [{ name: 'nginx', status: 'installed', version: '1:1.20.1-14.el9', upgrade: '1:1.20.1-14.el9_2.1' }, { name: 'git', status: 'not-installed' }] },
    expected: {
      kind: 'change',
      reason: 'install git; upgrade nginx 1:1.20.1-14.el9 → 1:1.20.1-14.el9_2.1',
      steps: [
        { command: 'dnf -y install git', label: 'install git' },
        { command: 'dnf -y upgrade nginx', label: 'upgrade nginx' },
      ],
    },
  },
  {
    name: 'apk with updateCache',
    options: { names: ['nginx'], updateCache: true },
    fact: { manager: 'apk', os: 'alpine', packages: [{ name: 'nginx', status: 'not-installed' }] },
    expected: {
      kind: 'change',
      reason: 'install nginx; refresh the package index first (updateCache)',
      steps: [
        { command: 'apk update -q', label: 'refresh the package index' },
        { command: 'apk add -q nginx', label: 'install nginx' },
      ],
    },
  },
  {
    name: 'pacman: --needed installs and upgrades alike',
    options: { names: ['nginx'], state: 'latest' },
    fact: { manager: 'pacman', packages: [{ name: 'nginx', status: 'installed', version: '1.24.0-1', upgrade: '1.26.0-1' }] },
    expected: { kind: 'change', reason: 'upgrade nginx 1.24.0-1 → 1.26.0-1', steps: [{ command: 'pacman -S --noconfirm --needed nginx', label: 'install nginx' }] },
  },
  {
    name: 'zypper absent',
    options: { names: ['nginx'], state: 'absent' },
    fact: { manager: 'zypper', packages: [{ name: 'nginx', status: 'installed', version: '1.21.5-1' }] },
    expected: { kind: 'change', reason: 'remove nginx 1.21.5-1', steps: [{ command: 'zypper -n remove nginx', label: 'remove nginx' }] },
  },
  {
    name: 'brew, without become, through its full path and without auto-update',
    options: { names: ['wget'] },
    become: false,
    fact: { manager: 'brew', os: 'macos', brew: '/opt/homebrew/bin/brew', packages: [{ name: 'wget', status: 'not-installed' }] },
    expected: { kind: 'change', reason: 'install wget', steps: [{ command: 'HOMEBREW_NO_AUTO_UPDATE=1 /opt/homebrew/bin/brew install wget', label: 'install wget' }] },
  },
];

const decide = (c: Pick<Case, 'options' | 'fact' | 'become'>): Decision => decidePackages(plan(c.options), c.fact, { become: c.become ?? true });

for (const c of CASES) {
  test(`decide: ${c.name}`, () => {
    const decision = decide(c);
    assert.deepEqual(summary(decision), c.expected);
    if (c.effects !== undefined) assert.deepEqual(decision.kind === 'change' ? decision.effects : undefined, c.effects);
  });
}

const FAILURES: [string, Pick<Case, 'options' | 'fact' | 'become'>, RegExp][] = [
  ['no package manager', { options: { names: ['nginx'] }, fact: { os: 'nixos', packages: [{ name: 'nginx', status: 'not-installed' }] } }, /^no package manager found: looked for apt-get, dnf, yum, apk, zypper, pacman and brew \(os nixos\)$/],
  ['brew as root', { options: { names: ['wget'] }, fact: { manager: 'brew', packages: [{ name: 'wget', status: 'not-installed' }] } }, /brew refuses to run as root: set become: false/],
  [
    'apt does not know the name and the index is fresh',
    { options: { names: ['ngnix'] }, fact: apt([{ name: 'ngnix', status: 'not-installed' }], { indexAge: 7200 }) },
    /^package ngnix is not in the package index \(refreshed 2 h ago\): check the name, or set updateCache: true/,
  ],
];

for (const [name, c, message] of FAILURES) {
  test(`decide fails: ${name}`, () => assert.throws(() => decide(c), (e: unknown) => e instanceof TaskFailure && message.test(e.message)));
}

test('an unknown name is no failure when the index is refreshed first (a repository added by an earlier task)', () => {
  const decision = decide({ options: { names: ['temurin-17-jdk'], updateCache: true }, fact: apt([{ name: 'temurin-17-jdk', status: 'not-installed' }]) });
  assert.equal(decision.kind, 'change');
});

test('duration', () => {
  assert.deepEqual([duration(5), duration(119), duration(600), duration(7199), duration(7200), duration(86400), duration(90000), duration(172800)], ['5 s', '119 s', '10 min', '120 min', '2 h', '1 d', '25 h', '2 d']);
});

test('builder: options are checked when the playbook is built', () => {
  assert.deepEqual(packages({ names: 'nginx', notify: 'restart nginx' }).options, { names: 'nginx' });
  assert.equal(packagesModule.describe({ names: ['nginx', 'curl'], state: 'latest' }), 'install the newest nginx, curl');
  assert.equal(packagesModule.describe({ names: 'nginx', state: 'absent' }), 'remove nginx');
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ names: [] }, /names must not be empty/],
    [{ names: ['-o', 'x'] }, /"-o" is not a package name/],
    [{ names: ['nginx; reboot'] }, /is not a package name/],
    [{ names: 'nginx', state: 'installed' }, /option "state" must be one of "present", "absent", "latest"/],
    [{ names: 'nginx', purge: true }, /purge goes with state: "absent"/],
    [{ names: 'nginx', cacheValidTime: -1 }, /cacheValidTime must be/],
    [{ names: 'nginx', update_cache: true }, /unknown option "update_cache"/],
  ];
  for (const [options, message] of bad) assert.throws(() => packages(options as never), message);
});

test('prepare: one name or many, duplicates once, defaults filled in', () => {
  assert.deepEqual(plan({ names: ['nginx', 'nginx', 'curl'] }), { names: ['nginx', 'curl'], state: 'present', updateCache: false, cacheValidTime: 86400, purge: false });
});

test('here (apt): dash is installed and hello absent; both no-ops, decided from facts read on this machine', { skip: !existsSync('/usr/bin/dpkg-query') }, () => {
  const present = decideHere(packagesModule, plan({ names: ['dash'] }), context());
  assert.equal(present.kind, 'noop');
  assert.match(present.reason, /^dash \d\S* installed$/);
  const gone = decideHere(packagesModule, plan({ names: ['is-provision-no-such-package'], state: 'absent' }), context());
  assert.deepEqual(gone, { kind: 'noop', reason: 'is-provision-no-such-package not installed' });
});

test('here (apt): the rendered install and remove commands are accepted by apt-get, simulated (-s), output shown after', { skip: !existsSync('/usr/bin/apt-get') }, () => {
  const simulate = (decision: Decision, verb: string): { code: number; stdout: string; stderr: string } => {
    assert.equal(decision.kind, 'change');
    const step = decision.kind === 'change' ? decision.steps.at(-1)! : undefined;
    assert.ok(step?.kind === 'exec' && step.command.text.includes(`apt-get ${verb} -y`));
    const text = step.command.text.replace(`apt-get ${verb} -y`, `apt-get ${verb} -s -y`);
    const result = spawnSync('sh', ['-c', wrap(raw(text)).command], { timeout: 60000 });
    return { code: result.status ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
  };
  const install = simulate(decide({ options: { names: 'hello', installRecommends: false }, fact: apt([{ name: 'hello', status: 'not-installed', candidate: '2.10-3' }]) }), 'install');
  assert.equal(install.code, 0, install.stderr);
  assert.match(install.stdout, /^Inst hello /m);
  const remove = simulate(decide({ options: { names: 'is-provision-no-such-package', state: 'absent' }, fact: apt([{ name: 'is-provision-no-such-package', status: 'installed', version: '1' }]) }), 'remove');
  assert.equal(remove.code, 100);
  assert.match(remove.stderr, /Unable to locate package is-provision-no-such-package/, 'a failure shows the output on stderr');
});
