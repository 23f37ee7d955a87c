import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConnectionSettings } from '../../src/inventory/types.js';
import { connect } from '../../src/transport/connect.js';
import { connectSsh } from '../../src/transport/ssh.js';
import { TransportError, type Transport, type TransportErrorKind } from '../../src/transport/types.js';
import { freePort, keygen, sshdUnavailable, startSshd, type Sshd } from './sshd-fixture.js';

// The suite needs root and OpenSSH's sshd, which .ci/run installs: a missing one is a failure, not a skip.
const unavailable = sshdUnavailable();
if (unavailable) throw new Error(`cannot run the ssh transport tests: ${unavailable}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rejection(promise: Promise<unknown>, kind: TransportErrorKind): Promise<TransportError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TransportError, `expected TransportError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    return error;
  }
  assert.fail(`expected a TransportError '${kind}'`);
}

describe('ssh transport against a real sshd', () => {
  let dir: string;
  let sshd: Sshd;
  let key: string;
  let wrongKey: string;
  let encryptedKey: string;
  let knownHosts: string;
  let t: Transport;

  const settings = (overrides: Partial<ConnectionSettings> = {}): ConnectionSettings => ({
    address: '127.0.0.1',
    port: sshd.port,
    user: userInfo().username,
    identityFiles: [key],
    knownHosts,
    hostKeyChecking: 'strict',
    proxyJump: [],
    connectTimeout: 5,
    transport: 'ssh',
    ...overrides,
  });
  const knownLine = () => `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssh-transport-'));
    const client = keygen(join(dir, 'id_client'));
    key = client.privateKey;
    wrongKey = keygen(join(dir, 'id_wrong')).privateKey;
    const encrypted = keygen(join(dir, 'id_encrypted'), 'ed25519', 'secret passphrase');
    encryptedKey = encrypted.privateKey;
    sshd = await startSshd(join(dir, 'sshd'), [client.publicLine, encrypted.publicLine]);
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `# test\n${knownLine()}\n`);
    t = await connect('web1', settings());
  });

  after(async () => {
    await t?.close();
    await sshd?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exec returns exit codes, stdout and stderr without throwing', async () => {
    assert.deepEqual(await t.exec('echo out; echo err >&2; exit 3'), { code: 3, stdout: 'out\n', stderr: 'err\n' });
    assert.equal((await t.exec('true')).code, 0);
    const killed = await t.exec('kill -TERM $$');
    assert.equal(killed.code, 143);
    assert.equal(killed.signal, 'SIGTERM');
  });

  it('delivers stdin, and closes it when there is none', async () => {
    assert.equal((await t.exec('cat', { stdin: 'hello\nworld' })).stdout, 'hello\nworld');
    assert.equal((await t.exec('wc -c', { stdin: Buffer.from([0, 1, 2]) })).stdout.trim(), '3');
    assert.deepEqual(await t.exec('cat'), { code: 0, stdout: '', stderr: '' });
  });

  it('delivers content with quotes, newlines and $() literally via stdin', async () => {
    const marker = join(dir, 'pwned');
    const content = `it's "quoted"\n$(touch ${marker})\n\`touch ${marker}\`\n\\n ${'${HOME}'} ünïcødé\n`;
    const file = join(dir, 'literal.txt');
    const result = await t.exec(`cat > '${file}'`, { stdin: content });
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await t.get(file)).toString('utf8'), content);
    assert.equal((await t.exec(`cat '${file}'`)).stdout, content);
    assert.equal(existsSync(marker), false);
  });

  it('runs 20 concurrent execs over one connection, at most 8 channels at once', async () => {
    const log = join(dir, 'concurrency.log');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.exec(`echo start >> '${log}'; sleep 0.3; echo end >> '${log}'; echo ${i}`)),
    );
    // stderr is left out: the login shell's own start-up files (root's .bashrc here) may write to it.
    results.forEach((r, i) => assert.deepEqual({ code: r.code, stdout: r.stdout }, { code: 0, stdout: `${i}\n` }));
    let running = 0;
    let peak = 0;
    for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
      running += line === 'start' ? 1 : -1;
      peak = Math.max(peak, running);
    }
    assert.ok(peak <= 8, `peak ${peak}`);
    assert.ok(peak >= 4, `peak ${peak}: execs should overlap`);
  });

  it('timeoutMs answers 124 promptly', async () => {
    const started = Date.now();
    const result = await t.exec('sleep 5', { timeoutMs: 300 });
    assert.equal(result.code, 124);
    assert.ok(Date.now() - started < 2000);
    assert.equal((await t.exec('echo still fine')).stdout, 'still fine\n');
  });

  it('puts a 5 MB file with progress and mode, and gets it back', async () => {
    const data = randomBytes(5 * 1024 * 1024);
    const local = join(dir, 'big.bin');
    writeFileSync(local, data);
    const remote = join(dir, 'remote-big.bin');
    const progress: [number, number][] = [];
    await t.put(local, remote, { mode: '0640', onProgress: (sent, total) => progress.push([sent, total]) });
    assert.ok(progress.length > 10, `${progress.length} progress calls`);
    assert.deepEqual(progress.at(-1), [data.length, data.length]);
    for (let i = 1; i < progress.length; i++) assert.ok((progress[i]?.[0] ?? 0) > (progress[i - 1]?.[0] ?? 0));
    assert.equal((await t.exec(`stat -c %a '${remote}'`)).stdout.trim(), '640');
    const sum = createHash('sha256').update(data).digest('hex');
    assert.equal((await t.exec(`sha256sum '${remote}'`)).stdout.split(' ')[0], sum);
    assert.ok((await t.get(remote)).equals(data));
  });

  it('puts bytes with a mode, overwriting a wider file', async () => {
    const remote = join(dir, 'secret.txt');
    writeFileSync(remote, 'old content that is longer', { mode: 0o644 });
    await t.put(Buffer.from('s3cret\n'), remote, { mode: '0600' });
    assert.equal(statSync(remote).mode & 0o777, 0o600);
    assert.equal(readFileSync(remote, 'utf8'), 's3cret\n');
    await t.put(Buffer.alloc(0), join(dir, 'empty'));
    assert.equal(readFileSync(join(dir, 'empty'), 'utf8'), '');
  });

  it('get of a missing file is an io error naming the path', async () => {
    const error = await rejection(t.get(join(dir, 'nope')), 'io');
    assert.match(error.message, /^web1: cannot read .*nope: No such file/);
    assert.equal((await t.exec('echo ok')).stdout, 'ok\n');
  });

  it('strict refuses an unknown host key', async () => {
    const file = join(dir, 'empty_known_hosts');
    const error = await rejection(connectSsh('web2', settings({ knownHosts: file })), 'host-key-unknown');
    assert.equal(error.host, 'web2');
    assert.match(error.message, new RegExp(`^web2: host key for \\[127\\.0\\.0\\.1\\]:${sshd.port} \\(ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}\\) is not in ${file}`));
    assert.ok(error.message.includes(`(ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${file}), or set host_key_checking = "accept-new"`));
  });

  it('accept-new writes the line, then a strict connection matches it', async () => {
    const file = join(dir, 'fresh', 'ssh', 'known_hosts');
    const first = await connectSsh('web3', settings({ knownHosts: file, hostKeyChecking: 'accept-new' }));
    assert.equal((await first.exec('echo hi')).stdout, 'hi\n');
    await first.close();
    const keyPart = sshd.hostKeyLine.split(' ').slice(0, 2).join(' ');
    assert.equal(readFileSync(file, 'utf8'), `[127.0.0.1]:${sshd.port} ${keyPart}\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const second = await connectSsh('web3', settings({ knownHosts: file }));
    assert.equal((await second.exec('echo again')).stdout, 'again\n');
    await second.close();
    assert.equal(readFileSync(file, 'utf8').split('\n').length, 2);
  });

  it('refuses a changed key under both modes, naming the line', async () => {
    const other = keygen(join(dir, 'other_host_key')).publicLine.split(' ').slice(0, 2).join(' ');
    const file = join(dir, 'changed_known_hosts');
    writeFileSync(file, `# comment\nsomewhere.else ${other}\n[127.0.0.1]:${sshd.port} ${other}\n`);
    for (const mode of ['strict', 'accept-new'] as const) {
      const error = await rejection(connectSsh('web4', settings({ knownHosts: file, hostKeyChecking: mode })), 'host-key-changed');
      assert.ok(error.message.includes(`does not match ${file} line 3; if the host was rebuilt, remove that line (ssh-keygen -f ${file} -R '[127.0.0.1]:${sshd.port}')`), error.message);
    }
  });

  it('a host known only by another key type is unknown under strict', async () => {
    const rsa = keygen(join(dir, 'rsa_host_key'), 'rsa').publicLine.split(' ').slice(0, 2).join(' ');
    const file = join(dir, 'rsa_known_hosts');
    writeFileSync(file, `[127.0.0.1]:${sshd.port} ${rsa}\n`);
    const error = await rejection(connectSsh('web5', settings({ knownHosts: file })), 'host-key-unknown');
    assert.match(error.message, /other key types for it: ssh-rsa at line 1/);
  });

  it('auth failures are kind auth and say what was tried', async () => {
    const wrong = await rejection(connectSsh('web6', settings({ identityFiles: [wrongKey] })), 'auth');
    assert.match(wrong.message, new RegExp(`^web6: authentication failed for ${userInfo().username}@127\\.0\\.0\\.1:${sshd.port}; tried key ${wrongKey}`));
    const encrypted = await rejection(connectSsh('web6', settings({ identityFiles: [encryptedKey] })), 'auth');
    assert.match(encrypted.message, /passphrase-protected and no agent is available; run ssh-agent and ssh-add/);
    const missing = await rejection(connectSsh('web6', settings({ identityFiles: [join(dir, 'nokey')] })), 'auth');
    assert.match(missing.message, /nokey does not exist/);
    // A usable key after a broken one still gets in.
    const ok = await connectSsh('web6', settings({ identityFiles: [join(dir, 'nokey'), encryptedKey, wrongKey, key] }));
    await ok.close();
  });

  it('unreachable: refused port and silent server', async () => {
    const closedPort = await freePort();
    const refused = await rejection(connectSsh('web7', settings({ port: closedPort })), 'unreachable');
    assert.match(refused.message, new RegExp(`^web7: connection refused by 127\\.0\\.0\\.1:${closedPort}`));
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const timedOut = await rejection(connectSsh('web7', settings({ port, connectTimeout: 1 })), 'unreachable');
      assert.match(timedOut.message, /timed out after 1 s connecting to 127\.0\.0\.1:\d+/);
    } finally {
      silent.close();
    }
  });

  it('connects through a jump host (forwardOut)', async () => {
    const jumped = await connectSsh('web8', settings({ proxyJump: [settings()] }));
    assert.equal((await jumped.exec('echo via jump')).stdout, 'via jump\n');
    await jumped.put(Buffer.from('x'), join(dir, 'via-jump'));
    assert.equal(readFileSync(join(dir, 'via-jump'), 'utf8'), 'x');
    await jumped.close();
    const error = await rejection(connectSsh('web8', settings({ proxyJump: [settings({ knownHosts: join(dir, 'none') })] })), 'host-key-unknown');
    assert.match(error.message, /^web8 \(jump host .*\): host key/);
  });

  it('survives an idle period with sshd probing it', async () => {
    await sleep(3500);
    assert.equal((await t.exec('echo awake')).stdout, 'awake\n');
  });

  it('close is idempotent and later calls reject as disconnected', async () => {
    const extra = await connectSsh('web9', settings());
    await Promise.all([extra.close(), extra.close()]);
    await extra.close();
    await rejection(extra.exec('true'), 'disconnected');
    await rejection(extra.get('/etc/hostname'), 'disconnected');
  });
});

describe('ssh transport when sshd dies mid-run', () => {
  it('rejects with TransportError instead of crashing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssh-kill-'));
    const client = keygen(join(dir, 'id_client'));
    const sshd = await startSshd(join(dir, 'sshd'), [client.publicLine]);
    try {
      const knownHosts = join(dir, 'known_hosts');
      mkdirSync(dir, { recursive: true });
      writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
      const t = await connectSsh('doomed', {
        address: '127.0.0.1',
        port: sshd.port,
        user: userInfo().username,
        identityFiles: [client.privateKey],
        knownHosts,
        hostKeyChecking: 'strict',
        proxyJump: [],
        connectTimeout: 5,
        transport: 'ssh',
      });
      await t.put(Buffer.from('warm up sftp'), join(dir, 'warm'));
      let started = 0;
      let running: Promise<unknown> | undefined;
      // Kill from inside a progress callback, so the upload is surely in flight, and ask for an exec
      // in the same tick, so its channel is requested from a server that is already gone. (Killing
      // sshd under a running command would orphan that command to pid 1.)
      const upload = t.put(randomBytes(20 * 1024 * 1024), join(dir, 'big'), {
        onProgress: (sent) => {
          if (sent < 1024 * 1024 || started) return;
          started = Date.now();
          void sshd.kill();
          running = t.exec('sleep 30');
          running.catch(() => undefined); // judged below, after the upload
        },
      });
      await rejection(upload, 'disconnected');
      assert.ok(running);
      const lost = await rejection(running, 'disconnected');
      assert.match(lost.message, /^doomed: connection to .*@127\.0\.0\.1:\d+ lost/);
      assert.ok(Date.now() - started < 5000);
      await rejection(t.exec('true'), 'disconnected');
      await rejection(t.get(join(dir, 'warm')), 'disconnected');
      await t.close();
    } finally {
      await sshd.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
