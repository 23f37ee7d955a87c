import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../src/transport/connect.js';
import { localTransport } from '../../src/transport/local.js';
import { TransportError, type Transport } from '../../src/transport/types.js';

describe('local transport', () => {
  let dir: string;
  let t: Transport;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'local-transport-'));
    t = await connect('localhost', {
      address: '127.0.0.1',
      port: 22,
      user: 'nobody',
      identityFiles: [],
      knownHosts: join(dir, 'unused'),
      hostKeyChecking: 'strict',
      proxyJump: [],
      connectTimeout: 1,
      transport: 'local',
    });
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is chosen by connect() for transport = "local"', () => assert.equal(t.name, 'localhost'));

  it('exec reports codes, streams and signals', async () => {
    assert.deepEqual(await t.exec('echo out; echo err >&2; exit 4'), { code: 4, stdout: 'out\n', stderr: 'err\n' });
    const killed = await t.exec('kill -TERM $$');
    assert.equal(killed.code, 143);
    assert.equal(killed.signal, 'SIGTERM');
  });

  it('starts in the home directory, like an SSH login', async () => {
    assert.equal((await t.exec('pwd -P')).stdout.trim(), (await t.exec(`cd '${homedir()}' && pwd -P`)).stdout.trim());
  });

  it('delivers stdin literally and always closes it', async () => {
    const content = `it's "q"\n$(touch ${join(dir, 'pwned')})\n`;
    assert.equal((await t.exec('cat', { stdin: content })).stdout, content);
    assert.equal(existsSync(join(dir, 'pwned')), false);
    assert.equal((await t.exec('cat')).stdout, '');
    assert.equal((await t.exec('true', { stdin: randomBytes(1024 * 1024) })).code, 0);
  });

  it('timeoutMs kills the whole command and answers 124', async () => {
    const marker = join(dir, 'late');
    const started = Date.now();
    const result = await t.exec(`sleep 1 && touch '${marker}'`, { timeoutMs: 200 });
    assert.equal(result.code, 124);
    assert.ok(Date.now() - started < 1000);
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(existsSync(marker), false);
  });

  it('put and get, with progress and mode', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    writeFileSync(join(dir, 'src.bin'), data);
    const progress: number[] = [];
    await t.put(join(dir, 'src.bin'), join(dir, 'dst.bin'), { mode: '0640', onProgress: (sent) => progress.push(sent) });
    assert.equal(statSync(join(dir, 'dst.bin')).mode & 0o777, 0o640);
    assert.equal(progress.at(-1), data.length);
    assert.ok((await t.get(join(dir, 'dst.bin'))).equals(data));
    writeFileSync(join(dir, 'secret'), 'old', { mode: 0o644 });
    await t.put(Buffer.from('new'), join(dir, 'secret'), { mode: '0600' });
    assert.equal(statSync(join(dir, 'secret')).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, 'secret'), 'utf8'), 'new');
  });

  it('file errors are TransportError io', async () => {
    await assert.rejects(t.get(join(dir, 'missing')), (e: unknown) => e instanceof TransportError && e.kind === 'io');
    await assert.rejects(t.put(Buffer.from('x'), join(dir, 'no', 'such', 'dir')), (e: unknown) => e instanceof TransportError && e.kind === 'io');
    await assert.rejects(t.put(Buffer.from('x'), join(dir, 'x'), { mode: 'rw' }), TypeError);
  });

  it('after close, calls reject as disconnected', async () => {
    const other = localTransport('other');
    await other.close();
    await other.close();
    await assert.rejects(other.exec('true'), (e: unknown) => e instanceof TransportError && e.kind === 'disconnected');
  });
});
