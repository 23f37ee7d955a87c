import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EffectStore, type Effect } from '../../src/facts/effects.js';
import { parseService, processFact, serviceFact, type ProcessFact, type ProcessFactArgs, type ServiceFact } from '../../src/facts/service.js';
import { runSh } from '../shell/run-sh.js';

const ROOT = mkdtempSync(path.join(tmpdir(), 'is-provision-service-'));
const children: ChildProcess[] = [];
after(() => children.forEach((c) => c.kill('SIGKILL')));

function run(text: string): string {
  const result = runSh(text);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.toString('utf8');
}

interface ParseCase {
  name: string;
  stdout: string;
  expected: ServiceFact;
}

const PARSE: ParseCase[] = [
  {
    name: 'systemd: active and enabled',
    stdout: 'manager=systemd\nLoadState=loaded\nActiveState=active\nenabled=enabled\n',
    expected: { name: 'nginx', manager: 'systemd', exists: true, status: 'active', running: true, enabledState: 'enabled', enabled: true },
  },
  {
    name: 'systemd: failed, static (started by something else)',
    stdout: 'manager=systemd\nLoadState=loaded\nActiveState=failed\nenabled=static\n',
    expected: { name: 'nginx', manager: 'systemd', exists: true, status: 'failed', running: false, enabledState: 'static', enabled: true },
  },
  {
    name: 'systemd: masked',
    stdout: 'manager=systemd\nLoadState=masked\nActiveState=inactive\nenabled=masked\n',
    expected: { name: 'nginx', manager: 'systemd', exists: true, status: 'inactive', running: false, enabledState: 'masked', enabled: false },
  },
  {
    name: 'systemd: no such unit (is-enabled prints nothing on stdout)',
    stdout: 'manager=systemd\nLoadState=not-found\nActiveState=inactive\nenabled=\n',
    expected: { name: 'nginx', manager: 'systemd', exists: false },
  },
  {
    name: 'SysV on Debian 12 without systemd (captured): not running, enabled',
    stdout: 'manager=sysv\nstatus=3\nmessage=nginx is not running ... failed!\nenabled=yes\nservice=yes\nupdate-rc.d=yes\n',
    expected: {
      name: 'nginx',
      manager: 'sysv',
      exists: true,
      statusCode: 3,
      running: false,
      status: 'status exit 3: nginx is not running ... failed!',
      enabled: true,
      tools: { service: true, updateRcD: true, chkconfig: false },
    },
  },
  {
    name: 'brew services info --json',
    stdout: 'manager=brew\nbrew=/opt/homebrew/bin/brew\njson:\n[\n  {\n    "name": "nginx",\n    "running": true,\n    "loaded": true,\n    "status": "started"\n  }\n]\n',
    expected: { name: 'nginx', manager: 'brew', brew: '/opt/homebrew/bin/brew', exists: true, running: true, status: 'started' },
  },
  {
    name: 'brew: a formula without a service',
    stdout: 'manager=brew\nbrew=/usr/local/bin/brew\njson:\n',
    expected: { name: 'nginx', manager: 'brew', brew: '/usr/local/bin/brew', exists: false },
  },
  { name: 'nothing knows it', stdout: '', expected: { name: 'nginx', exists: false } },
];

for (const c of PARSE) {
  test(`parse: ${c.name}`, () => assert.deepEqual(parseService(c.stdout, { name: 'nginx' }), c.expected));
}

const here = (name: string): ServiceFact => parseService(run(serviceFact.definition.command({ name }).text), { name });
const SYSV = !existsSync('/run/systemd/system');

test('SysV here: the fact agrees with the init scripts themselves, read-only', { skip: !SYSV }, () => {
  for (const name of ['nginx', 'apt-cacher-ng', 'ssh', 'procps']) {
    if (!existsSync(`/etc/init.d/${name}`)) continue;
    const code = spawnSync(`/etc/init.d/${name}`, ['status'], { stdio: 'ignore' }).status;
    const fact = here(name);
    assert.equal(fact.manager, 'sysv', name);
    assert.equal(fact.exists, true, name);
    assert.equal(fact.statusCode, code, name);
    assert.equal(fact.running, code === 0, name);
    const links = execFileSync('sh', ['-c', `ls /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d 2>/dev/null`]).toString();
    assert.equal(fact.enabled, new RegExp(`^S\\d\\d${name.replace(/[.]/g, '\\.')}$`, 'm').test(links), name);
  }
});

test('here: a service nobody knows does not exist; a hostile name stays one word', () => {
  assert.equal(here('is-provision-no-such-service').exists, false);
  assert.equal(here("x'; touch /tmp/pwned-svc; '").exists, false);
  assert.equal(existsSync('/tmp/pwned-svc'), false);
});

const store = (effects: [Effect, string][]): EffectStore => {
  const s = new EffectStore();
  for (const [e, by] of effects) s.record(e, by);
  return s;
};
const refine = serviceFact.definition.refine!;
const missingHere: ServiceFact = { name: 'mariadb', exists: false };

test('refine: a missing service may come with the package named like it, or the latest install', () => {
  const effects = store([
    [{ kind: 'package', name: 'mariadb-server', installed: true }, 'install mariadb'],
    [{ kind: 'package', name: 'unzip', installed: true }, 'tools'],
  ]);
  assert.deepEqual(refine(missingHere, { name: 'mariadb' }, effects), { ...missingHere, comesWith: { package: 'mariadb-server', by: 'install mariadb' } });
  assert.deepEqual(refine({ name: 'memcached', exists: false }, { name: 'memcached' }, effects), {
    name: 'memcached',
    exists: false,
    comesWith: { package: 'unzip', by: 'tools' },
  });
  assert.deepEqual(refine(missingHere, { name: 'mariadb' }, new EffectStore()), missingHere, 'nothing planned: as the host says');
});

test('refine: a state planned by an earlier service task wins over the host', () => {
  const effects = store([[{ kind: 'service', name: 'nginx', exists: true, running: false }, 'stop nginx']]);
  const host: ServiceFact = { name: 'nginx', manager: 'sysv', exists: true, running: true, status: 'status exit 0' };
  assert.deepEqual(refine(host, { name: 'nginx' }, effects), { ...host, running: false, planned: 'stop nginx' });
});

// Custom services: the pid file in every state, with real processes.

function processHere(args: Omit<ProcessFactArgs, 'name'>): ProcessFact {
  const full = { name: 'node1', ...args };
  return processFact.definition.parse(run(processFact.definition.command(full).text), full);
}

function pidFile(name: string, content: string): string {
  const p = path.join(ROOT, name);
  writeFileSync(p, content);
  return p;
}

function sleeper(): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  return child.pid!;
}

test('process: no pid file, garbage, a dead pid', () => {
  const none = path.join(ROOT, 'none.pid');
  assert.deepEqual(processHere({ pidFile: none }), { pidFile: none, pidFilePresent: false, running: false });
  const garbage = pidFile('garbage.pid', 'not a pid\n');
  assert.deepEqual(processHere({ pidFile: garbage }), { pidFile: garbage, pidFilePresent: true, running: false, stale: 'no pid' });
  const dead = pidFile('dead.pid', '999999999\n');
  assert.deepEqual(processHere({ pidFile: dead }), { pidFile: dead, pidFilePresent: true, pid: 999999999, running: false, stale: 'no such process' });
});

test('process: a live pid runs; with match, only when its command line holds it', () => {
  const pid = sleeper();
  const file = pidFile('live.pid', ` ${pid}\n`);
  assert.deepEqual(processHere({ pidFile: file }), { pidFile: file, pidFilePresent: true, pid, running: true });
  assert.deepEqual(processHere({ pidFile: file, match: 'sleep 60' }), { pidFile: file, pidFilePresent: true, pid, running: true });
  const other = processHere({ pidFile: file, match: 'org.wso2.carbon' });
  assert.equal(other.running, false);
  assert.equal(other.stale, 'another process (sleep 60 )');
});

test('process: a zombie is not running, though kill -0 succeeds on it', async () => {
  const file = path.join(ROOT, 'zombie.pid');
  // The parent execs into sleep, which never reaps the child that has already exited.
  const parent = spawn('sh', ['-c', `sleep 0 & echo $! > ${file}; exec sleep 60`], { stdio: 'ignore' });
  children.push(parent);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const fact = processHere({ pidFile: file });
  assert.equal(spawnSync('sh', ['-c', `kill -0 $(cat ${file})`]).status, 0, 'kill -0 alone would call it alive');
  assert.equal(fact.running, false);
  assert.equal(fact.stale, 'zombie');
});

test('process refine: an earlier task that starts or stops it decides', () => {
  const host: ProcessFact = { pidFile: '/opt/is/wso2carbon.pid', pidFilePresent: false, running: false };
  const effects = store([[{ kind: 'service', name: 'node1', exists: true, running: true }, 'start node1']]);
  assert.deepEqual(processFact.definition.refine!(host, { name: 'node1', pidFile: host.pidFile }, effects), { ...host, running: true, planned: 'start node1' });
  assert.deepEqual(processFact.definition.refine!(host, { name: 'node2', pidFile: host.pidFile }, effects), host);
});
