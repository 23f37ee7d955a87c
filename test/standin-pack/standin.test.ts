// The stand-in WSO2 IS 5.10.0 pack: scripts/standin-pack/build.sh makes the zip, and the
// unpacked pack's bin/wso2server.sh behaves like the real one (start/stop/restart/status,
// pid file, log line) while python3 serves HTTPS on 9443 + offset.
// Needs bash, zip, unzip, openssl and python3 on this machine, and ports 9446/9766 free.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import TOML from '@iarna/toml';
import yauzl from 'yauzl';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD = join(REPO, 'scripts', 'standin-pack', 'build.sh');
const TOP = 'wso2is-5.10.0';
const OFFSET = 3;
const HTTPS_PORT = 9443 + OFFSET;
const HTTP_PORT = 9763 + OFFSET;
const STARTED = /WSO2 Carbon started in \d+ sec/g;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command; resolves once it has exited AND closed its stdio (so a leaked pipe shows as a hang). */
function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? testEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish (and close its stdio) in ${options.timeoutMs ?? 30_000} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** The caller's environment without CARBON_HOME (the script would honour it, like the real one) or the stand-in's knobs. */
function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.CARBON_HOME;
  delete env.IS_STANDIN_FILLER_MB;
  delete env.IS_STANDIN_STARTUP_DELAY;
  return { ...env, ...extra };
}

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(path: string, port = HTTPS_PORT): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', rejectUnauthorized: false, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** true when nothing listens on 127.0.0.1:port (the connection is refused). */
function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(2000);
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** Alive and not a zombie (an unreaped exited process still answers kill -0). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

interface ZipEntryInfo {
  name: string;
  mode: number;
  method: number;
  size: number;
}

async function zipListing(file: string): Promise<ZipEntryInfo[]> {
  const zip = await yauzl.openPromise(file, { strictFileNames: true });
  const out: ZipEntryInfo[] = [];
  try {
    for await (const e of zip.eachEntry()) {
      out.push({ name: e.fileName, mode: (e.externalFileAttributes >>> 16) & 0o7777, method: e.compressionMethod, size: e.uncompressedSize });
    }
  } finally {
    zip.close();
  }
  return out;
}

let dir: string;
let zipPath: string;
const seenPids = new Set<number>();

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'standin-pack-'));
  zipPath = join(dir, 'packs', `${TOP}.zip`);
});

after(() => {
  for (const pid of seenPids) {
    if (alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('build.sh', { timeout: 60_000 }, () => {
  it('builds the zip with a 1 MB filler, and skips the rebuild when nothing changed', async () => {
    const first = await run(BUILD, [zipPath, '--filler-mb', '1']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim(), zipPath);
    assert.match(first.stderr, /built .*filler 1 MB/);
    const mtime = statSync(zipPath).mtimeMs;
    assert.ok(existsSync(`${zipPath}.stamp`));

    const second = await run(BUILD, [zipPath, '--filler-mb', '1']);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /up to date/);
    assert.equal(statSync(zipPath).mtimeMs, mtime, 'an up-to-date zip is not rewritten');
    console.log(`# build: ${first.ms} ms, up-to-date check: ${second.ms} ms`);
  });

  it('is reproducible and takes the filler size from IS_STANDIN_FILLER_MB', async () => {
    const other = join(dir, 'other', 'pack.zip');
    const built = await run(BUILD, [other], { env: testEnv({ IS_STANDIN_FILLER_MB: '2' }) });
    assert.equal(built.code, 0, built.stderr);
    const filler = (await zipListing(other)).find((e) => e.name.endsWith('standin-filler.bin'));
    assert.equal(filler?.size, 2 * 1048576);
    const again = await run(BUILD, [other, '--filler-mb', '1', '--force']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(readFileSync(other), readFileSync(zipPath), 'the same inputs give the same bytes');
  });

  it('refuses a bad filler size', async () => {
    const bad = await run(BUILD, [join(dir, 'bad.zip'), '--filler-mb', 'lots']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /whole number/);
  });
});

describe('the pack layout', { timeout: 30_000 }, () => {
  it('has the real layout under wso2is-5.10.0/, with modes, empty dirs and a stored filler', async () => {
    const entries = await zipListing(zipPath);
    const names = new Set(entries.map((e) => e.name));
    for (const e of entries) assert.ok(e.name.startsWith(`${TOP}/`), `${e.name} is under ${TOP}/`);
    for (const expected of [
      'bin/wso2server.sh',
      'bin/standin-server.py',
      'bin/version.txt',
      'repository/conf/deployment.toml',
      'repository/logs/',
      'repository/resources/security/',
      'repository/database/',
      'repository/components/lib/',
      'repository/components/dropins/',
      'lib/',
      'dbscripts/mysql.sql',
      'dbscripts/postgresql.sql',
      'dbscripts/identity/mysql.sql',
      'dbscripts/identity/postgresql.sql',
      'dbscripts/identity/uma/mysql.sql',
      'dbscripts/identity/uma/postgresql.sql',
      'dbscripts/consent/mysql.sql',
      'dbscripts/consent/postgresql.sql',
    ]) {
      assert.ok(names.has(`${TOP}/${expected}`), `zip has ${TOP}/${expected}`);
    }
    assert.ok(![...names].some((n) => n.endsWith('.keep') || n.includes('__pycache__') || n.endsWith('.pid')), 'no placeholders or run leftovers');
    const mode = (name: string) => entries.find((e) => e.name === `${TOP}/${name}`)?.mode;
    assert.equal(mode('bin/wso2server.sh'), 0o755);
    assert.equal(mode('bin/standin-server.py'), 0o755);
    assert.equal(mode('repository/conf/deployment.toml'), 0o644);
    const filler = entries.find((e) => e.name === `${TOP}/repository/components/plugins/standin-filler.bin`);
    assert.equal(filler?.size, 1048576);
    assert.equal(filler?.method, 0, 'the filler is stored, not deflated');
  });

  it('ships a deployment.toml with the product file\'s tables', () => {
    const text = readFileSync(join(REPO, 'scripts/standin-pack/pack', TOP, 'repository/conf/deployment.toml'), 'utf8');
    const toml = TOML.parse(text) as Record<string, any>;
    assert.equal(toml.server.hostname, 'localhost');
    assert.equal(toml.server.node_ip, '127.0.0.1');
    assert.equal(toml.server.offset, undefined);
    assert.ok(toml.super_admin.username);
    assert.ok(toml.user_store.type);
    for (const db of ['user', 'identity_db', 'shared_db']) {
      assert.equal(toml.database[db].type, 'h2', db);
      assert.match(toml.database[db].url, /^jdbc:h2:/);
      assert.ok(toml.database[db].username && toml.database[db].password);
    }
    assert.equal(toml.keystore.primary.file_name, 'wso2carbon.jks');
    assert.equal(toml.truststore.file_name, 'client-truststore.jks');
    assert.ok(toml.account_recovery.endpoint.auth.hash);
    const lines = text.split('\n').length;
    assert.ok(lines >= 40 && lines <= 60, `${lines} lines`);
    assert.match(text, /^#/m);
  });
});

describe('wso2server.sh in an unpacked node', { timeout: 120_000 }, () => {
  let home: string;
  let script: string;
  let log: string;
  let pidFile: string;
  const startedCount = () => (existsSync(log) ? (readFileSync(log, 'utf8').match(STARTED) ?? []).length : 0);
  const pid = () => Number(readFileSync(pidFile, 'utf8').trim());
  const wso2server = (command?: string) => run('sh', command ? [script, command] : [script], { cwd: home, timeoutMs: 45_000 });

  before(async () => {
    for (const port of [HTTPS_PORT, HTTP_PORT]) {
      assert.ok(await portClosed(port), `port ${port} must be free for this test`);
    }
    const nodeDir = join(dir, 'opt', 'node1');
    mkdirSync(nodeDir, { recursive: true });
    const unzip = await run('unzip', ['-q', zipPath, '-d', nodeDir]).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new Error('unzip is not installed (apt-get install unzip)') : error;
    });
    assert.equal(unzip.code, 0, unzip.stderr);
    home = join(nodeDir, TOP);
    script = join(home, 'bin', 'wso2server.sh');
    log = join(home, 'repository', 'logs', 'wso2carbon.log');
    pidFile = join(home, 'wso2carbon.pid');
    const toml = join(home, 'repository', 'conf', 'deployment.toml');
    const text = readFileSync(toml, 'utf8');
    assert.ok(text.includes('[server]\n'));
    writeFileSync(toml, text.replace('[server]\n', `[server]\noffset = ${OFFSET}\n`));
  });

  after(async () => {
    if (home && existsSync(pidFile)) {
      seenPids.add(pid());
      await wso2server('stop').catch(() => undefined);
    }
  });

  it('start returns at once, detached, and the server logs its startup line', async () => {
    const start = await wso2server('start');
    assert.equal(start.code, 0, start.stderr);
    assert.ok(start.ms < 2500, `start took ${start.ms} ms`);
    assert.ok(existsSync(pidFile), 'start writes the pid file');
    seenPids.add(pid());
    const ready = await waitUntil('the startup line', () => startedCount() === 1);
    assert.match(readFileSync(log, 'utf8'), /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] INFO \{org\.wso2\.carbon\.core\.internal\.StartupFinalizerServiceComponent\} - WSO2 Carbon started in \d+ sec$/m);
    assert.ok(alive(pid()));
    assert.ok(existsSync(join(home, 'repository', 'resources', 'security', 'standin-server.crt')), 'first start creates the certificate');
    console.log(`# start returned in ${start.ms} ms; started line ${ready} ms later`);
  });

  it('serves /carbon/ and /user-portal/ over HTTPS on 9443 + offset, 404 elsewhere', async () => {
    const carbon = await get('/carbon/');
    assert.equal(carbon.status, 200);
    assert.match(carbon.body, /^WSO2 Identity Server stand-in: node=node1 hostname=localhost port=9446$/m);
    assert.equal(carbon.headers['x-is-node'], 'node1');
    const portal = await get('/user-portal/');
    assert.equal(portal.status, 200);
    assert.match(portal.body, /node=node1/);
    const nope = await get('/nope');
    assert.equal(nope.status, 404);
    assert.equal(nope.headers['x-is-node'], 'node1');
  });

  it('status exits 0 while running', async () => {
    const status = await wso2server('status');
    assert.equal(status.code, 0, status.stdout);
    assert.match(status.stdout, new RegExp(`running \\(pid ${pid()}\\)`));
  });

  it('a second start while running is harmless', async () => {
    const before = pid();
    const again = await wso2server('start');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already running/);
    assert.equal(pid(), before);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(alive(before));
    assert.equal((await get('/carbon/')).status, 200);
    assert.equal(startedCount(), 1);
  });

  it('restart stops and starts a new process, which picks up proxyPort', async () => {
    const old = pid();
    const toml = join(home, 'repository', 'conf', 'deployment.toml');
    writeFileSync(toml, `${readFileSync(toml, 'utf8')}\n[transport.https.properties]\nproxyPort = 443\n`);
    const restart = await wso2server('restart');
    assert.equal(restart.code, 0, restart.stderr);
    assert.ok(!alive(old), 'the old process has exited');
    const fresh = pid();
    seenPids.add(fresh);
    assert.notEqual(fresh, old);
    const ready = await waitUntil('the second startup line', () => startedCount() === 2);
    const carbon = await get('/carbon/');
    assert.equal(carbon.status, 200);
    assert.match(carbon.body, /node=node1 hostname=localhost port=9446 proxyPort=443/);
    const redirect = await get('/carbon');
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.location, 'https://127.0.0.1/carbon/', 'redirects use proxyPort, as Tomcat does');
    console.log(`# restart returned in ${restart.ms} ms; started line ${ready} ms later`);
  });

  it('stop waits for the exit, removes the pid file and frees the port', async () => {
    const running = pid();
    const stop = await wso2server('stop');
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(!existsSync(pidFile), 'the pid file is gone');
    assert.ok(!alive(running), 'the process has exited');
    assert.ok(await portClosed(HTTPS_PORT), `port ${HTTPS_PORT} is free`);
    assert.ok(await portClosed(HTTP_PORT), `port ${HTTP_PORT} is free`);
    assert.match(readFileSync(log, 'utf8'), /Shutdown hook triggered/);
    const status = await wso2server('status');
    assert.equal(status.code, 3);
    const again = await wso2server('stop');
    assert.equal(again.code, 0, 'stopping a stopped server is fine');
    console.log(`# stop returned in ${stop.ms} ms`);
  });

  it('a stop right after start (mid-exec) still stops it, leaving nothing behind', async () => {
    for (let i = 0; i < 8; i++) {
      const start = await wso2server('start');
      assert.equal(start.code, 0, start.stderr);
      seenPids.add(pid());
      const stop = await wso2server('stop');
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, /stopped \(pid \d+\)/, `round ${i}: stop found the server it had just started`);
    }
    await new Promise((r) => setTimeout(r, 1500)); // longer than the startup delay
    assert.ok(!existsSync(pidFile), 'no pid file');
    assert.ok(await portClosed(HTTPS_PORT), 'no server came up after all');
    for (const p of seenPids) assert.ok(!alive(p), `pid ${p} is gone`);
  });
});
