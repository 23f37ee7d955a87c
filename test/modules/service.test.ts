import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EffectStore } from '../../src/facts/effects.js';
import { serviceFact, type ProcessFact, type ServiceFact } from '../../src/facts/service.js';
import { TaskFailure, type Decision } from '../../src/modules/decision.js';
import { decidePackages } from '../../src/modules/packages.js';
import { decideCustomService, decideSystemService, outputInFile, service, serviceModule, type ServiceOptions, type ServicePlan } from '../../src/modules/service.js';
import { raw } from '../../src/shell/quote.js';
import { Secret } from '../../src/shell/secret.js';
import { wrap } from '../../src/shell/wrap.js';
import { context, decideHere, summary } from './helpers.js';

const plan = (o: ServiceOptions): ServicePlan => serviceModule.prepare!(o, undefined as never) as ServicePlan;

const inFile = (command: string): string =>
  `t=$(mktemp) || exit 1\n( ${command}\n) </dev/null >"$t" 2>&1\nrc=$?\nif [ "$rc" -eq 0 ]; then cat "$t"; else cat "$t" >&2; fi\nrm -f "$t"\nexit "$rc"`;

const systemd = (extra: Partial<ServiceFact> = {}): ServiceFact => ({
  name: 'nginx',
  manager: 'systemd',
  exists: true,
  status: 'active',
  running: true,
  enabledState: 'enabled',
  enabled: true,
  ...extra,
});
const sysv = (extra: Partial<ServiceFact> = {}): ServiceFact => ({
  name: 'nginx',
  manager: 'sysv',
  exists: true,
  statusCode: 0,
  running: true,
  status: 'status exit 0: nginx is running.',
  enabled: true,
  tools: { service: true, updateRcD: true, chkconfig: false },
  ...extra,
});
const stoppedSysv = sysv({ statusCode: 3, running: false, status: 'status exit 3: nginx is not running ... failed!' });

interface Case {
  name: string;
  options: ServiceOptions;
  fact: ServiceFact;
  become?: boolean;
  expected: unknown;
  running?: boolean;
}

const CASES: Case[] = [
  { name: 'systemd: started and enabled as wanted', options: { name: 'nginx', state: 'started', enabled: true }, fact: systemd(), expected: { kind: 'noop', reason: 'nginx running; enabled' } },
  {
    name: 'systemd: failed and disabled: enable, then start',
    options: { name: 'nginx', state: 'started', enabled: true },
    fact: systemd({ status: 'failed', running: false, enabledState: 'disabled', enabled: false }),
    expected: {
      kind: 'change',
      reason: 'nginx not running (failed) → start; not enabled → enable',
      steps: [
        { command: 'systemctl enable nginx', label: 'enable nginx' },
        { command: 'systemctl start nginx', label: 'start nginx' },
      ],
    },
    running: true,
  },
  {
    name: 'systemd: a static unit counts as enabled',
    options: { name: 'getty@tty1', enabled: true },
    fact: systemd({ name: 'getty@tty1', enabledState: 'static' }),
    expected: { kind: 'noop', reason: 'getty@tty1 running; enabled (static)' },
  },
  { name: 'systemd: stop', options: { name: 'nginx', state: 'stopped' }, fact: systemd(), expected: { kind: 'change', reason: 'nginx running → stop', steps: [{ command: 'systemctl stop nginx', label: 'stop nginx' }] }, running: false },
  { name: 'systemd: restarted always changes', options: { name: 'nginx', state: 'restarted' }, fact: systemd(), expected: { kind: 'change', reason: 'nginx running → restart', steps: [{ command: 'systemctl restart nginx', label: 'restart nginx' }] } },
  { name: 'systemd: reloaded', options: { name: 'nginx', state: 'reloaded' }, fact: systemd(), expected: { kind: 'change', reason: 'nginx running → reload', steps: [{ command: 'systemctl reload nginx', label: 'reload nginx' }] } },
  {
    name: 'SysV: reloaded but not running starts it, through `service`, output in a file',
    options: { name: 'nginx', state: 'reloaded' },
    fact: stoppedSysv,
    expected: {
      kind: 'change',
      reason: 'nginx not running (status exit 3: nginx is not running ... failed!) → start (reloaded, but not running)',
      steps: [{ command: inFile('service nginx start'), label: 'start nginx' }],
    },
    running: true,
  },
  { name: 'SysV: stopped already', options: { name: 'nginx', state: 'stopped', enabled: false }, fact: stoppedSysv.enabled ? { ...stoppedSysv, enabled: false } : stoppedSysv, expected: { kind: 'noop', reason: 'nginx not running (status exit 3: nginx is not running ... failed!); not enabled' } },
  {
    name: 'SysV: enable with update-rc.d (defaults makes the links, enable turns K links into S)',
    options: { name: 'nginx', enabled: true },
    fact: sysv({ enabled: false }),
    expected: { kind: 'change', reason: 'not enabled → enable; nginx running', steps: [{ command: 'update-rc.d nginx defaults && update-rc.d nginx enable', label: 'enable nginx' }] },
    running: true,
  },
  {
    name: 'SysV without `service`, chkconfig for enabling',
    options: { name: 'nginx', state: 'restarted', enabled: false },
    fact: sysv({ tools: { service: false, updateRcD: false, chkconfig: true } }),
    expected: {
      kind: 'change',
      reason: 'nginx running → restart; enabled → disable',
      steps: [
        { command: 'chkconfig nginx off', label: 'disable nginx' },
        { command: inFile('/etc/init.d/nginx restart'), label: 'restart nginx' },
      ],
    },
  },
  {
    name: 'dry-run: a state planned by an earlier task',
    options: { name: 'nginx', state: 'started' },
    fact: sysv({ running: false, planned: 'stop nginx' }),
    expected: { kind: 'change', reason: 'nginx not running (as "stop nginx" leaves it) → start', steps: [{ command: inFile('service nginx start'), label: 'start nginx' }] },
  },
  {
    name: 'brew services, without become; reload is a restart',
    options: { name: 'nginx', state: 'reloaded' },
    become: false,
    fact: { name: 'nginx', manager: 'brew', brew: '/opt/homebrew/bin/brew', exists: true, running: true, status: 'started' },
    expected: { kind: 'change', reason: 'nginx running → reload', steps: [{ command: 'HOMEBREW_NO_AUTO_UPDATE=1 /opt/homebrew/bin/brew services restart nginx', label: 'reload nginx' }] },
  },
];

const decide = (c: Pick<Case, 'options' | 'fact' | 'become'>): Decision => {
  const p = plan(c.options);
  assert.equal(p.kind, 'system');
  return decideSystemService(p as Extract<ServicePlan, { kind: 'system' }>, c.fact, { become: c.become ?? true });
};

for (const c of CASES) {
  test(`decide: ${c.name}`, () => {
    const decision = decide(c);
    assert.deepEqual(summary(decision), c.expected);
    if (decision.kind === 'change') {
      assert.deepEqual(decision.effects, [{ kind: 'service', name: c.options.name, exists: true, running: c.running ?? true }]);
    }
  });
}

const FAILURES: [string, Pick<Case, 'options' | 'fact' | 'become'>, RegExp][] = [
  ['a service that does not exist', { options: { name: 'nginx', state: 'started' }, fact: { name: 'nginx', exists: false } }, /^service nginx not found: no systemd, and no \/etc\/init.d\/nginx$/],
  ['no such unit', { options: { name: 'nginx', state: 'started' }, fact: { name: 'nginx', manager: 'systemd', exists: false } }, /^service nginx not found: systemd has no unit nginx$/],
  ['masked', { options: { name: 'nginx', state: 'started' }, fact: systemd({ running: false, enabledState: 'masked', enabled: false }) }, /nginx is masked: unmask it first/],
  ['status unknown (exit 4)', { options: { name: 'nginx', state: 'started' }, fact: sysv({ statusCode: 4, running: false, status: 'status exit 4' }) }, /cannot tell whether nginx runs: status exit 4 \(not root\? set become\)/],
  ['brew as root', { options: { name: 'nginx', state: 'started' }, fact: { name: 'nginx', manager: 'brew', exists: true, running: false } }, /brew refuses to run as root/],
  ['brew enabled', { options: { name: 'nginx', enabled: true }, become: false, fact: { name: 'nginx', manager: 'brew', exists: true, running: false } }, /enabled is not for brew services/],
  ['SysV with no way to enable', { options: { name: 'nginx', enabled: true }, fact: sysv({ enabled: false, tools: { service: true, updateRcD: false, chkconfig: false } }) }, /neither update-rc.d nor chkconfig/],
];

for (const [name, c, message] of FAILURES) {
  test(`decide fails: ${name}`, () => assert.throws(() => decide(c), (e: unknown) => e instanceof TaskFailure && message.test(e.message)));
}

test('dry-run on a fresh host: packages(nginx) then service(nginx, restarted) says what it would do instead of failing', () => {
  const effects = new EffectStore();
  const install = decidePackages(
    { names: ['nginx'], state: 'present', updateCache: false, cacheValidTime: 86400, purge: false },
    { manager: 'apt', indexFiles: 3, indexAge: 60, packages: [{ name: 'nginx', status: 'not-installed', candidate: '1.22.1-9+deb12u12' }] },
    { become: true },
  );
  assert.equal(install.kind, 'change');
  for (const effect of install.kind === 'change' ? install.effects ?? [] : []) effects.record(effect, 'install nginx');
  // The host has neither the unit nor the script yet.
  const refined = serviceFact.definition.refine!({ name: 'nginx', exists: false }, { name: 'nginx' }, effects) as ServiceFact;
  const decision = decide({ options: { name: 'nginx', state: 'restarted' }, fact: refined });
  assert.deepEqual(summary(decision), {
    kind: 'change',
    reason: 'nginx does not exist yet; it may come with package nginx ("install nginx"), then: nginx not running (not installed) → start',
    steps: [{ command: inFile('service nginx start'), label: 'start nginx' }],
  });
});

test('builder: options are checked when the playbook is built', () => {
  const task = service({ name: 'nginx', state: 'restarted', listen: 'restart web' });
  assert.deepEqual(task.options, { name: 'nginx', state: 'restarted' });
  assert.deepEqual(task.common, { listen: 'restart web' });
  assert.equal(serviceModule.describe({ name: 'nginx', state: 'started', enabled: true }), 'service nginx started, enabled');
  assert.equal(serviceModule.describe({ name: 'nginx', enabled: false }), 'service nginx disabled');
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ name: 'nginx' }, /give state, enabled or both/],
    [{ name: 'nginx; reboot', state: 'started' }, /is not a service name/],
    [{ name: '-x', state: 'started' }, /is not a service name/],
    [{ name: 'nginx', state: 'running' }, /must be one of "started", "stopped", "restarted", "reloaded"/],
    [{ name: 'nginx', state: 'started', pidFile: '/run/nginx.pid' }, /option "pidFile" is for custom services/],
    [{ name: 'node1', state: 'started', start: 'bin/start.sh' }, /needs "pidFile"/],
    [{ name: 'node1', start: 'x', pidFile: '/p', enabled: true }, /enabled is for system services/],
    [{ name: 'node1', state: 'started', start: [], pidFile: '/p' }, /start must not be empty/],
    [{ name: 'node1', state: 'started', start: 'x', pidFile: 'rel.pid' }, /pidFile must be absolute, or relative to a cwd/],
    [{ name: 'node1', state: 'started', start: 'x', pidFile: '/p', cwd: 'opt' }, /cwd must be an absolute path/],
    [{ name: 'node1', state: 'started', start: 'x', pidFile: '/p', user: 'a b' }, /is not a user name/],
    [{ name: 'node1', state: 'started', start: 'x', pidFile: '/p', timeout: 0 }, /timeout must be/],
    [{ name: 'node1', state: 'started', start: 'x', pidFile: '/p', env: { A: 1 } }, /env A must be a string or a secret/],
  ];
  for (const [options, message] of bad) assert.throws(() => service(options as never), message);
});

test('prepare: relative pid file and log are in cwd; the log defaults to the pid file with .out', () => {
  assert.deepEqual(plan({ name: 'node1', state: 'started', start: ['bin/wso2server.sh', 'start'], cwd: '/opt/is', pidFile: 'wso2carbon.pid' }), {
    kind: 'custom',
    name: 'node1',
    state: 'started',
    start: ['bin/wso2server.sh', 'start'],
    cwd: '/opt/is',
    pidFile: '/opt/is/wso2carbon.pid',
    log: '/opt/is/wso2carbon.out',
    timeout: 60,
  });
});

// Custom services for real: a tiny daemon in a temp dir, started and stopped by the steps, via sh -c.

const ROOT = mkdtempSync(path.join(tmpdir(), 'is-provision-custom-'));
chmodSync(ROOT, 0o777);
const DAEMON = path.join(ROOT, 'daemon.sh');
writeFileSync(
  DAEMON,
  `#!/bin/sh
# $1: the pid file. Logs to stdout, which must not be the SSH channel.
echo $$ > "$1"
echo "up as $(id -un) in $(pwd) token=\${TOKEN:-unset}"
trap 'echo reloaded' HUP
trap 'echo bye; rm -f "$1"; exit 0' TERM
while :; do sleep 0.1; done
`,
);
chmodSync(DAEMON, 0o755);
const leftovers: number[] = [];
const strays: ChildProcess[] = [];
after(() => {
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  strays.forEach((c) => c.kill('SIGKILL'));
});

let counter = 0;
function custom(extra: Partial<ServiceOptions> = {}): { options: ServiceOptions; dir: string; pidFile: string } {
  const dir = path.join(ROOT, `case-${++counter}`);
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  const pidFile = path.join(dir, 'node1.pid');
  return { options: { name: 'node1', state: 'started', start: [DAEMON, pidFile], pidFile, cwd: dir, timeout: 5, ...extra }, dir, pidFile };
}

/** Runs the steps as the engine does (wrap, no sudo) and times them; the pipe closes only when nothing holds our stdout. */
function apply(decision: Decision, PATH = process.env.PATH): { ms: number; stdout: string; stderr: string; code: number } {
  const started = Date.now();
  let last = { stdout: '', stderr: '', code: 0 };
  for (const step of decision.kind === 'change' ? decision.steps : []) {
    assert.equal(step.kind, 'exec');
    if (step.kind !== 'exec') continue;
    const prepared = wrap(step.command, { ...(step.cwd ? { cwd: step.cwd } : {}), ...(step.env ? { env: step.env } : {}) });
    const result = spawnSync('sh', ['-c', prepared.command], { input: prepared.stdinPrefix, timeout: 20000, env: { PATH, LC_ALL: 'C' } });
    assert.equal(result.error, undefined, 'the step returned (a daemon holding our stdout would hang it)');
    last = { stdout: result.stdout.toString(), stderr: result.stderr.toString(), code: result.status ?? -1 };
    if (last.code !== 0) break;
  }
  return { ms: Date.now() - started, ...last };
}

const alive = (pid: number): boolean => {
  const stat = spawnSync('sh', ['-c', `cat /proc/${pid}/stat 2>/dev/null`]).stdout.toString();
  return stat !== '' && !/\) [ZX] /.test(stat);
};
const pidIn = (file: string): number => Number(readFileSync(file, 'utf8').trim());
const decideNow = (options: ServiceOptions): Decision => decideHere(serviceModule, plan(options), context());

test('custom, for real: start returns promptly, the daemon keeps running, and started again is a no-op', () => {
  const { options, dir, pidFile } = custom();
  const first = decideNow(options);
  assert.equal(first.reason, `node1 not running (no pid file ${pidFile}) → start`);
  const run = apply(first);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.ms < 5000, `start took ${run.ms} ms`);
  const pid = pidIn(pidFile);
  leftovers.push(pid);
  assert.equal(run.stdout.trim(), `node1 started, pid ${pid}`);
  spawnSync('sleep', ['0.5']);
  assert.ok(alive(pid), 'the daemon outlives the step');
  assert.match(readFileSync(path.join(dir, 'node1.out'), 'utf8'), new RegExp(`^up as root in ${dir} token=unset$`, 'm'));
  assert.deepEqual(decideNow(options), { kind: 'noop', reason: `node1 running, pid ${pid}` });

  // restarted: stop, wait, start: a new pid.
  const restart = decideNow({ ...options, state: 'restarted' });
  assert.equal(restart.reason, `node1 running, pid ${pid} → restart`);
  assert.equal(apply(restart).code, 0);
  const second = pidIn(pidFile);
  leftovers.push(second);
  assert.notEqual(second, pid);
  assert.ok(!alive(pid) && alive(second));

  // reloaded with a reload command: same pid, the daemon got its HUP.
  const reload = decideNow({ ...options, state: 'reloaded', reload: `kill -HUP "$(cat ${pidFile})"` });
  assert.equal(reload.reason, `node1 running, pid ${second} → reload`);
  assert.equal(apply(reload).code, 0);
  spawnSync('sleep', ['0.3']);
  assert.equal(pidIn(pidFile), second);
  assert.match(readFileSync(path.join(dir, 'node1.out'), 'utf8'), /^reloaded$/m);

  // stopped: waits until the process is gone; stopped again is a no-op.
  const stop = decideNow({ ...options, state: 'stopped' });
  const stopped = apply(stop);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(stopped.stdout.trim(), `node1 stopped, was pid ${second}`);
  assert.ok(!alive(second));
  assert.deepEqual(decideNow({ ...options, state: 'stopped' }), { kind: 'noop', reason: `node1 not running (no pid file ${pidFile})` });
});

test('custom, for real: as another user, with a secret env that never reaches a command line', () => {
  const { options, dir, pidFile } = custom({ user: 'nobody', env: { TOKEN: new Secret('s3cr3t-value') }, log: 'app.log' });
  const decision = decideNow(options);
  assert.ok(decision.kind === 'change' && decision.steps.every((s) => s.kind === 'exec' && !s.command.text.includes('s3cr3t')));
  assert.equal(apply(decision).code, 0);
  const pid = pidIn(pidFile);
  leftovers.push(pid);
  assert.match(readFileSync(path.join(dir, 'app.log'), 'utf8'), new RegExp(`^up as nobody in ${dir} token=s3cr3t-value$`, 'm'));
  assert.equal(apply(decideNow({ ...options, state: 'stopped' })).code, 0);
  assert.ok(!alive(pid));
  // Where there is no runuser (it lives in /usr/sbin), su does it.
  assert.equal(apply(decideNow(options), '/usr/bin:/bin').code, 0);
  const again = pidIn(pidFile);
  leftovers.push(again);
  assert.match(readFileSync(path.join(dir, 'app.log'), 'utf8').trim().split('\n').at(-1)!, /^up as nobody .* token=s3cr3t-value$/);
  assert.equal(apply(decideNow({ ...options, state: 'stopped' }), '/usr/bin:/bin').code, 0);
  assert.ok(!alive(again));
});

test('custom, for real: a start script that daemonizes and writes the pid file later is waited for', () => {
  const { options, pidFile } = custom();
  const start = `( sleep 1; exec ${DAEMON} ${pidFile} ) & exit 0`;
  const run = apply(decideNow({ ...options, start }));
  assert.equal(run.code, 0, run.stderr);
  const pid = pidIn(pidFile);
  leftovers.push(pid);
  assert.ok(run.ms >= 900 && alive(pid));
  assert.equal(apply(decideNow({ ...options, start, state: 'stopped' })).code, 0);
});

test('custom, for real: a start that fails says so at once, with the end of its log', () => {
  const { options } = custom({ start: 'echo "JAVA_HOME is not set" >&2; exit 3' });
  const run = apply(decideNow(options));
  assert.equal(run.code, 1);
  assert.ok(run.ms < 3000, `failed after ${run.ms} ms`);
  assert.match(run.stderr, /node1: the start command exited 3; the end of .*node1\.out:\nJAVA_HOME is not set/);
});

test('custom, for real: a process that ignores TERM fails the stop after the timeout', () => {
  const { options, pidFile } = custom({ timeout: 1 });
  const stubborn = spawn('sh', ['-c', `trap '' TERM; echo $$ > ${pidFile}; while :; do sleep 0.1; done`], { stdio: 'ignore' });
  strays.push(stubborn);
  spawnSync('sleep', ['0.3']);
  const run = apply(decideNow({ ...options, state: 'stopped' }));
  assert.equal(run.code, 1);
  assert.equal(run.stderr.trim(), `node1 (pid ${stubborn.pid}) still running 1 s after the stop command`);
  assert.ok(alive(stubborn.pid!));
});

test('custom, for real: with match, a recycled pid in a stale pid file is neither taken for the service nor killed', () => {
  const { options, pidFile } = custom({ match: 'daemon.sh' });
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  strays.push(other);
  writeFileSync(pidFile, `${other.pid}\n`);
  assert.deepEqual(decideNow({ ...options, state: 'stopped' }), { kind: 'noop', reason: `node1 not running (pid file ${pidFile}: another process (sleep 60 ))` });
  const start = decideNow(options);
  assert.equal(start.reason, `node1 not running (pid file ${pidFile}: another process (sleep 60 )) → start`);
  assert.equal(apply(start).code, 0);
  leftovers.push(pidIn(pidFile));
  assert.ok(alive(other.pid!), 'the unrelated process lives');
  assert.notEqual(pidIn(pidFile), other.pid);
  assert.equal(apply(decideNow({ ...options, state: 'stopped' })).code, 0);
  assert.ok(existsSync(pidFile) === false);
});

test('custom decide: planned by an earlier task; reloaded without a reload command restarts', () => {
  const p = plan({ name: 'node1', state: 'started', start: 'bin/start', pidFile: '/opt/is/node1.pid' }) as Extract<ServicePlan, { kind: 'custom' }>;
  const planned: ProcessFact = { pidFile: p.pidFile, pidFilePresent: false, running: false, planned: 'stop node1' };
  assert.equal(decideCustomService(p, planned).reason, 'node1 stopped by "stop node1" → start');
  const running: ProcessFact = { pidFile: p.pidFile, pidFilePresent: true, pid: 1234, running: true };
  const reload = decideCustomService({ ...p, state: 'reloaded' }, running);
  assert.equal(reload.reason, 'node1 running, pid 1234 → restart (no reload command)');
  assert.deepEqual(reload.kind === 'change' && reload.steps.map((s) => s.label), ['stop node1', 'start node1']);
  assert.deepEqual(reload.kind === 'change' && reload.effects, [{ kind: 'service', name: 'node1', exists: true, running: true }]);
});

test('outputInFile: a daemon that keeps the output (an init script piping into logger) does not hold the channel', () => {
  const pids = path.join(ROOT, 'holders.pid');
  const holder = `echo starting; sleep 30 & echo $! >> ${pids}`;
  try {
    const bare = spawnSync('sh', ['-c', holder], { timeout: 1500 });
    assert.equal((bare.error as NodeJS.ErrnoException | undefined)?.code, 'ETIMEDOUT', 'without it the caller waits for the daemon');
    const started = Date.now();
    const wrapped = spawnSync('sh', ['-c', outputInFile(raw(holder)).text], { timeout: 10000 });
    assert.equal(wrapped.error, undefined);
    assert.equal(wrapped.status, 0);
    assert.equal(wrapped.stdout.toString(), 'starting\n');
    assert.ok(Date.now() - started < 1000);
    const failing = spawnSync('sh', ['-c', outputInFile(raw('echo "nginx: [emerg] bad config"; exit 1')).text]);
    assert.deepEqual([failing.status, failing.stdout.toString(), failing.stderr.toString()], [1, '', 'nginx: [emerg] bad config\n']);
  } finally {
    for (const pid of readFileSync(pids, 'utf8').trim().split('\n')) leftovers.push(Number(pid));
  }
});
