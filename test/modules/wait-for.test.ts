import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync, mkdtempSync, readdirSync, realpathSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Unknowable } from '../../src/facts/define.js';
import { EffectStore } from '../../src/facts/effects.js';
import { waitStateFact, type WaitState } from '../../src/facts/wait-for.js';
import { TaskFailure } from '../../src/modules/decision.js';
import { decideWaitFor, probeOf, waitFor, waitForModule, waitStep, type WaitForOptions } from '../../src/modules/wait-for.js';
import { wrap } from '../../src/shell/wrap.js';
import { runSh } from '../shell/run-sh.js';

const ROOT = realpathSync(mkdtempSync(path.join(tmpdir(), 'is-provision-wait-')));
const HOST = { name: 'local', address: '127.0.0.1', groups: [], vars: {} };
const RUN = { host: HOST, dryRun: false };
const DRY = { host: HOST, dryRun: true };
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null) child.kill();
  rmSync(ROOT, { recursive: true, force: true });
});

/** A port nothing listens on (as far as one can tell). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a node script in the background; it is killed when the tests end. */
function background(script: string, ...args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['-e', script, ...args], { stdio: 'ignore' });
  children.push(child);
  return child;
}

const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' };

/** The fact as the engine runs it: wrapped for the host's sh. */
function factHere(o: WaitForOptions, env: NodeJS.ProcessEnv = ENV): WaitState {
  const probe = probeOf(o);
  const result = runSh(wrap(waitStateFact.definition.command(probe)).command, { env });
  assert.equal(result.code, 0, result.stderr);
  return waitStateFact.definition.parse(result.stdout.toString('utf8'), probe);
}

function stepHere(o: WaitForOptions, env: NodeJS.ProcessEnv = ENV): { code: number; stdout: string; stderr: string; seconds: number } {
  const started = Date.now();
  const result = runSh(wrap(waitStep(o)).command, { env });
  return { code: result.code, stdout: result.stdout.toString('utf8').trim(), stderr: result.stderr.trim(), seconds: (Date.now() - started) / 1000 };
}

const STATE = (met: boolean, observed: string, tools: WaitState['tools'] = ['curl', 'bash']): WaitState => ({ met, observed, tools });

interface Case {
  name: string;
  options: WaitForOptions;
  state: WaitState;
  dryRun?: boolean;
  kind: 'noop' | 'change';
  reason: string;
}

const CASES: Case[] = [
  { name: 'port listening', options: { port: 9443 }, state: STATE(true, 'port 9443 is listening'), kind: 'noop', reason: 'port 9443 is listening' },
  {
    name: 'port not yet',
    options: { port: 9443, timeout: 300 },
    state: STATE(false, 'nothing listens on port 9443'),
    kind: 'change',
    reason: 'nothing listens on port 9443; waited up to 300 s for port 9443 to listen',
  },
  {
    name: 'port not yet, dry-run',
    options: { port: 9443 },
    state: STATE(false, 'nothing listens on port 9443'),
    dryRun: true,
    kind: 'change',
    reason: 'nothing listens on port 9443; would wait up to 120 s for port 9443 to listen',
  },
  { name: 'port closed, as wanted', options: { port: 8080, absent: true }, state: STATE(true, 'nothing listens on port 8080'), kind: 'noop', reason: 'nothing listens on port 8080' },
  {
    name: 'remote port',
    options: { port: 3306, host: 'db1', timeout: 60 },
    state: STATE(false, 'db1:3306 does not accept connections'),
    kind: 'change',
    reason: 'db1:3306 does not accept connections; waited up to 60 s for db1:3306 to accept connections',
  },
  {
    name: 'url answering',
    options: { url: 'https://localhost:9443/carbon/', status: [200, 302], insecure: true },
    state: STATE(true, 'https://localhost:9443/carbon/ answers 302'),
    kind: 'noop',
    reason: 'https://localhost:9443/carbon/ answers 302',
  },
  {
    name: 'url not yet',
    options: { url: 'http://localhost:8080/health' },
    state: STATE(false, 'http://localhost:8080/health answers 503'),
    kind: 'change',
    reason: 'http://localhost:8080/health answers 503; waited up to 120 s for http://localhost:8080/health to answer 200',
  },
  {
    name: 'log line there',
    options: { file: '/var/log/app.log', contains: 'started in' },
    state: STATE(true, 'a line containing "started in" is in /var/log/app.log'),
    kind: 'noop',
    reason: 'a line containing "started in" is in /var/log/app.log',
  },
  {
    name: 'file gone, as planned by an earlier task',
    options: { file: '/run/app.lock', absent: true },
    state: { ...STATE(true, '/run/app.lock does not exist'), planned: '"stop app"' },
    kind: 'noop',
    reason: '/run/app.lock does not exist (as "stop app" leaves it)',
  },
  {
    name: 'trigger: always a change, a new line',
    options: { file: '/var/log/app.log', contains: 'started in', trigger: ['systemctl', 'restart', 'app'] },
    state: STATE(true, 'a line containing "started in" is in /var/log/app.log'),
    kind: 'change',
    reason: 'ran systemctl restart app, then waited up to 120 s for a new line containing "started in" in /var/log/app.log',
  },
  {
    name: 'trigger in a dry-run',
    options: { port: 9443, trigger: 'systemctl restart wso2' },
    state: STATE(true, 'port 9443 is listening'),
    dryRun: true,
    kind: 'change',
    reason: 'would run systemctl restart wso2, then wait up to 120 s for port 9443 to listen',
  },
];

for (const c of CASES) {
  test(`decide: ${c.name}`, () => {
    const decision = decideWaitFor(c.options, c.state, c.dryRun ? DRY : RUN);
    assert.equal(decision.kind, c.kind);
    assert.equal(decision.reason, c.reason);
    if (decision.kind === 'change') {
      assert.equal(decision.steps.length, 1);
      assert.equal(decision.steps[0]!.kind === 'exec' && decision.steps[0]!.command.text, waitStep(c.options).text);
    }
  });
}

test('decide: missing tools fail naming the package', () => {
  assert.throws(() => decideWaitFor({ url: 'http://x/' }, STATE(false, 'neither curl nor wget on this host', ['bash']), RUN), (e: Error) => e instanceof TaskFailure && e.message === 'neither curl nor wget is installed on local: install the package curl first');
  assert.throws(() => decideWaitFor({ port: 5432, host: 'db' }, STATE(false, 'x', []), RUN), /no TCP client on local to reach db:5432: install the package netcat-openbsd first/);
  // A local port needs no tool at all.
  assert.equal(decideWaitFor({ port: 5432 }, STATE(true, 'port 5432 is listening', []), RUN).kind, 'noop');
});

test('the step renders exactly: a port', () => {
  assert.equal(
    waitStep({ port: 9443, timeout: 5 }).text,
    [
      'probe() {',
      `  if grep -Eq '^ *[0-9]+: [0-9A-F]+:24E3 [0-9A-F]+:[0-9A-F]+ 0A ' /proc/net/tcp /proc/net/tcp6 2>/dev/null; then ok=yes; obs='port 9443 is listening'`,
      `  else ok=no; obs='nothing listens on port 9443'; fi`,
      '}',
      'check() {',
      '  probe',
      '  :',
      '}',
      `what='port 9443 to listen'; limit=5`,
      'deadline=$(( $(date +%s) + limit ))',
      'while :; do',
      '  check',
      `  if [ "$ok" = yes ]; then printf '%s\\n' "$obs"; exit 0; fi`,
      `  if [ "$(date +%s)" -ge "$deadline" ]; then printf 'gave up after %s s waiting for %s (last: %s)\\n' "$limit" "$what" "$obs" >&2; exit 1; fi`,
      '  sleep 1',
      'done',
    ].join('\n'),
  );
});

test('options are checked when the task is built', () => {
  const bad: [WaitForOptions, RegExp][] = [
    [{}, /exactly one of "port", "url" and "file"/],
    [{ port: 1, file: '/x' }, /exactly one of/],
    [{ port: 0 }, /port must be a whole number from 1 to 65535/],
    [{ port: 80.5 }, /port must be a whole number/],
    [{ url: 'ftp://x/' }, /url must be an http:\/\/ or https:\/\/ URL/],
    [{ url: 'http://x/', status: 42 }, /status must be an HTTP status/],
    [{ url: 'http://x/', status: [] }, /status must not be an empty array/],
    [{ file: 'relative.log' }, /file must be an absolute path/],
    [{ file: '/x', contains: 'a\nb' }, /contains must be non-empty text on one line/],
    [{ port: 1, host: 'a b' }, /host must be a host name or address/],
    [{ file: '/x', status: 200 }, /"status" and "insecure" go with "url"/],
    [{ port: 1, contains: 'x' }, /"contains" goes with "file"/],
    [{ file: '/x', host: 'h' }, /"host" goes with "port"/],
    [{ port: 1, timeout: -1 }, /timeout must be a number of seconds, 0 or more/],
    [{ file: '/x', contains: 'y', trigger: 'true', absent: true }, /a new line cannot be waited for as absent/],
    [{ port: 1, trigger: [] }, /trigger must not be empty/],
    [{ port: 1, regexp: 'x' } as never, /unknown option "regexp"/],
  ];
  for (const [options, message] of bad) assert.throws(() => waitFor(options), message, JSON.stringify(options));
  assert.equal(waitForModule.describe(waitFor({ port: 9443 }).options), 'wait for port 9443 to listen');
});

test('the fact parses real output', () => {
  const probe = probeOf({ url: 'http://x/' });
  assert.deepEqual(waitStateFact.definition.parse('met=no\nobserved=http://x/ answers 503\ntools=curl wget bash\n', probe), {
    met: false,
    observed: 'http://x/ answers 503',
    tools: ['curl', 'wget', 'bash'],
  });
  assert.deepEqual(waitStateFact.definition.parse('met=yes\nobserved=port 22 is listening\ntools=\n', probe), { met: true, observed: 'port 22 is listening', tools: [] });
});

test('dry-run: a file planned by an earlier task answers; a planned install makes a wait unknowable', () => {
  const store = new EffectStore();
  const log = '/opt/wso2/node1/wso2is/repository/logs/wso2carbon.log';
  const fact = waitStateFact.definition;
  store.record({ kind: 'path', path: '/opt/wso2/node1', state: 'directory', fresh: true }, 'unarchive');
  assert.deepEqual(fact.fromEffects!(probeOf({ file: log, contains: 'started in' }), store), {
    met: false,
    observed: `${log} does not exist`,
    tools: [],
    planned: '"unarchive"',
  });
  store.record({ kind: 'path', path: '/etc/app.conf', state: 'file', content: Buffer.from('a\nmode = prod\n') }, 'copy');
  assert.equal((fact.fromEffects!(probeOf({ file: '/etc/app.conf', contains: 'mode = prod' }), store) as WaitState).met, true);
  assert.equal((fact.fromEffects!(probeOf({ file: '/etc/app.conf', contains: 'mode = prod', absent: true }), store) as WaitState).met, false);
  store.record({ kind: 'path', path: '/opt/big.jar', state: 'file', size: 10 }, 'unarchive');
  assert.ok(fact.fromEffects!(probeOf({ file: '/opt/big.jar', contains: 'x' }), store) instanceof Unknowable);
  assert.equal((fact.fromEffects!(probeOf({ file: '/opt/big.jar' }), store) as WaitState).met, true);
  assert.equal(fact.fromEffects!(probeOf({ port: 9443 }), store), undefined);
  assert.equal(fact.fromEffects!(probeOf({ file: '/elsewhere' }), store), undefined);

  const notYet = STATE(false, 'nothing listens on port 9443', ['bash']);
  assert.deepEqual(fact.refine!(notYet, probeOf({ port: 9443 }), store), notYet);
  store.record({ kind: 'package', name: 'curl', installed: true }, 'packages');
  const refined = fact.refine!(notYet, probeOf({ port: 9443 }), store);
  assert.ok(refined instanceof Unknowable);
  assert.equal(refined.because, 'nothing listens on port 9443 now, and package curl ("packages") is installed first');
  // curl comes with the earlier install: no failure for the missing tool in the plan.
  assert.deepEqual((fact.refine!(STATE(true, 'x', []), probeOf({ url: 'http://x/' }), store) as WaitState).tools, ['curl']);
});

test('for real: a port that opens after 2 s, waited for; the fact before says not yet', async () => {
  const port = await freePort();
  assert.deepEqual(factHere({ port }).met, false);
  background(`setTimeout(() => require('net').createServer().listen(${port}, '127.0.0.1'), 2000)`);
  const result = stepHere({ port, timeout: 20 });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `port ${port} is listening`);
  assert.ok(result.seconds >= 1.5, `waited ${result.seconds} s`);
  assert.deepEqual(factHere({ port }), { met: true, observed: `port ${port} is listening`, tools: factHere({ port }).tools });
  // The same port reached as host:port, from here (nc if installed, else bash's /dev/tcp).
  assert.equal(stepHere({ port, host: '127.0.0.1', timeout: 5 }).stdout, `127.0.0.1:${port} accepts connections`);
});

test('for real: a timeout exits non-zero naming what it waited for and the last observation', async () => {
  const port = await freePort();
  const result = stepHere({ port, timeout: 2 });
  assert.equal(result.code, 1);
  assert.equal(result.stderr, `gave up after 2 s waiting for port ${port} to listen (last: nothing listens on port ${port})`);
  assert.ok(result.seconds >= 1.5 && result.seconds < 6, `took ${result.seconds} s`);
  const remote = stepHere({ port, host: '127.0.0.1', timeout: 1 });
  assert.equal(remote.stderr, `gave up after 1 s waiting for 127.0.0.1:${port} to accept connections (last: 127.0.0.1:${port} does not accept connections)`);
});

test('for real: absent waits for a listening port to close', async () => {
  const port = await freePort();
  const server = background(`const s = require('net').createServer().listen(${port}, '127.0.0.1'); setTimeout(() => s.close(), 1500)`);
  for (let i = 0; i < 50 && !factHere({ port }).met; i++) execFileSync('sleep', ['0.1']);
  assert.equal(factHere({ port, absent: true }).met, false);
  const result = stepHere({ port, absent: true, timeout: 10 });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `nothing listens on port ${port}`);
  server.kill();
});

test('for real: a line appended to a file after 1 s', () => {
  const log = path.join(ROOT, `app it's.log`);
  writeFileSync(log, 'booting\n');
  const o = { file: log, contains: 'Carbon started in', timeout: 10 };
  assert.deepEqual(factHere(o).met, false);
  background(`setTimeout(() => require('fs').appendFileSync(process.argv[1], '[x] WSO2 Carbon started in 12 sec\\n'), 1000)`, log);
  const result = stepHere(o);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `a line containing "Carbon started in" is in ${log}`);
  assert.ok(result.seconds >= 0.5);
  assert.equal(factHere(o).met, true);
  // And a file that does not exist yet, waited for as such.
  const later = path.join(ROOT, 'later');
  background(`setTimeout(() => require('fs').writeFileSync(process.argv[1], ''), 1000)`, later);
  assert.equal(stepHere({ file: later, timeout: 10 }).stdout, `${later} exists`);
});

test('for real: with a trigger, an old "started" line does not count, a new one does (also after rotation)', () => {
  const log = path.join(ROOT, 'carbon.log');
  writeFileSync(log, 'Starting\nWSO2 Carbon started in 10 sec\n');
  const restart = [process.execPath, '-e', `setTimeout(() => require('fs').appendFileSync(process.argv[1], 'Starting\\nWSO2 Carbon started in 11 sec\\n'), 1500)`, log];
  // The "restart" returns at once and the new line comes 1.5 s later: the old line must not end the wait.
  const detached = ['sh', '-c', '"$@" >/dev/null 2>&1 &', 'restart', ...restart];
  const result = stepHere({ file: log, contains: 'started in', trigger: detached, timeout: 10 });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(result.seconds >= 1.2, `returned after ${result.seconds} s: the old line counted`);

  // Rotation: the restart moves the log away; the new log counts whole.
  const rotate = ['sh', '-c', 'mv -- "$1" "$1.1" && printf "WSO2 Carbon started in 9 sec\\n" > "$1"', 'rotate', log];
  const rotated = stepHere({ file: log, contains: 'started in', trigger: rotate, timeout: 5 });
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.deepEqual(readdirSync(ROOT).filter((f) => f.startsWith('carbon.log')).sort(), ['carbon.log', 'carbon.log.1']);

  // No new line: a timeout, even though an old one is there.
  const none = stepHere({ file: log, contains: 'started in', trigger: 'true', timeout: 1 });
  assert.equal(none.code, 1);
  assert.equal(none.stderr, `gave up after 1 s waiting for a new line containing "started in" in ${log} (last: no line containing "started in" in ${log})`);

  // A failing trigger fails the step with its exit code.
  const failing = stepHere({ file: log, contains: 'x', trigger: 'exit 3', timeout: 1 });
  assert.equal(failing.code, 3);
  assert.equal(failing.stderr, 'exit 3 failed (exit 3)');
  appendFileSync(log, '');
  renameSync(`${log}.1`, path.join(ROOT, 'old.log'));
});

test('for real: a URL that answers 503, then 200; a 302 is an answer; curl or wget', async () => {
  const port = await freePort();
  background(
    `const t = Date.now(); require('http').createServer((q, r) => { if (q.url === '/login') { r.writeHead(302, { location: '/x' }); return r.end(); } r.writeHead(Date.now() - t > 1500 ? 200 : 503); r.end(); }).listen(${port}, '127.0.0.1')`,
  );
  const url = `http://127.0.0.1:${port}/health`;
  for (let i = 0; i < 50 && factHere({ url, status: [200, 503] }).met === false; i++) execFileSync('sleep', ['0.1']);
  assert.deepEqual(factHere({ url }), { met: false, observed: `${url} answers 503`, tools: factHere({ url }).tools });
  const result = stepHere({ url, timeout: 10 });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `${url} answers 200`);
  assert.equal(factHere({ url: `http://127.0.0.1:${port}/login`, status: 302 }).met, true);

  // wget when there is no curl: a PATH with everything of /usr/bin but curl.
  const bin = path.join(ROOT, 'bin-without-curl');
  mkdirSync(bin);
  for (const name of readdirSync('/usr/bin')) if (name !== 'curl') symlinkSync(path.join('/usr/bin', name), path.join(bin, name));
  const env = { PATH: bin, LC_ALL: 'C' };
  assert.deepEqual(factHere({ url }, env), { met: true, observed: `${url} answers 200`, tools: ['wget', 'bash'] });
  assert.equal(factHere({ url: `http://127.0.0.1:${port}/login`, status: 302 }, env).met, true);
  const closed = await freePort();
  assert.equal(factHere({ url: `http://127.0.0.1:${closed}/` }, env).observed, `no HTTP answer from http://127.0.0.1:${closed}/`);
  assert.equal(factHere({ url: `http://127.0.0.1:${closed}/` }).observed, `no HTTP answer from http://127.0.0.1:${closed}/`);
});

test('for real: https with a self-signed certificate needs insecure', async () => {
  const dir = path.join(ROOT, 'tls');
  mkdirSync(dir);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  const port = await freePort();
  background(
    `const fs = require('fs'); require('https').createServer({ key: fs.readFileSync(process.argv[1]), cert: fs.readFileSync(process.argv[2]) }, (q, r) => { r.writeHead(200); r.end(); }).listen(${port}, '127.0.0.1')`,
    path.join(dir, 'key.pem'),
    path.join(dir, 'cert.pem'),
  );
  const url = `https://127.0.0.1:${port}/carbon/`;
  const result = stepHere({ url, insecure: true, timeout: 10 });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, `${url} answers 200`);
  assert.equal(factHere({ url }).observed, `no HTTP answer from ${url}`);
});

test('through the engine (local transport): a wait is a check, reported ok, dry-run and apply alike', async () => {
  const { runTask } = await import('../../src/engine/task-runner.js');
  const { localTransport } = await import('../../src/transport/local.js');
  const port = await freePort();
  const task = waitFor({ port, timeout: 20 });
  const host = { name: 'local', address: '127.0.0.1', groups: [], vars: {}, become: false, connection: { user: 'root', transport: 'local' } } as never;
  const prepared = { task, module: waitForModule, plan: task.options, name: 'wait', notify: [], listen: [], handler: false } as never;
  const session = (dryRun: boolean) => ({ host, transport: localTransport('local'), effects: new EffectStore(), nonce: 'n0nce', dryRun, now: new Date(), emit: () => undefined });
  assert.deepEqual(await runTask(session(true), prepared, {}), { status: 'ok', reason: `nothing listens on port ${port}; would wait up to 20 s for port ${port} to listen` });
  background(`setTimeout(() => require('net').createServer().listen(${port}, '127.0.0.1'), 1500)`);
  assert.deepEqual(await runTask(session(false), prepared, {}), { status: 'ok', reason: `nothing listens on port ${port}; waited up to 20 s for port ${port} to listen` });
  assert.deepEqual(await runTask(session(false), prepared, {}), { status: 'ok', reason: `port ${port} is listening` });
  const quick = waitFor({ port: await freePort(), timeout: 1 });
  const failed = await runTask(session(false), { ...(prepared as object), task: quick, plan: quick.options } as never, {});
  assert.equal(failed.status, 'failed');
  assert.match(failed.reason, /^command failed with exit code 1: gave up after 1 s waiting for port \d+ to listen \(last: nothing listens on port \d+\)$/);
});
