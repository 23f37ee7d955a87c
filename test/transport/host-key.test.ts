import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseHostKeyBlob, verifyHostKey, type HostKeyTarget } from '../../src/transport/host-key.js';
import { TransportError } from '../../src/transport/types.js';

function blob(type: string): Buffer {
  const name = Buffer.from(type);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(name.length);
  return Buffer.concat([length, name, randomBytes(32)]);
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hostkey-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function target(file: string, hostKeyChecking: HostKeyTarget['hostKeyChecking'], address = '10.0.0.5', port = 22): HostKeyTarget {
  return { address, port, knownHosts: file, hostKeyChecking };
}

async function refusal(promise: Promise<unknown>): Promise<TransportError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TransportError, `expected TransportError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a refusal');
}

describe('parseHostKeyBlob', () => {
  it('reads the type and prints the fingerprint as ssh-keygen does', () => {
    const key = join(dir, 'id_test');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const [type, base64] = readFileSync(`${key}.pub`, 'utf8').split(' ');
    const info = parseHostKeyBlob(Buffer.from(base64 ?? '', 'base64'));
    assert.equal(info.keyType, type);
    assert.equal(info.keyBase64, base64);
    const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${key}.pub`], { encoding: 'utf8' });
    assert.ok(printed.includes(info.fingerprint), `${printed} should include ${info.fingerprint}`);
  });

  it('rejects garbage', () => {
    assert.throws(() => parseHostKeyBlob(Buffer.from([0, 0, 0, 99, 1])));
  });
});

describe('verifyHostKey', () => {
  it('strict: refuses an unknown key, saying how to add it; a missing file is empty', async () => {
    const file = join(dir, 'missing', 'known_hosts');
    const key = blob('ssh-ed25519');
    const error = await refusal(verifyHostKey('web1', target(file, 'strict'), key));
    assert.equal(error.kind, 'host-key-unknown');
    assert.equal(error.host, 'web1');
    const { fingerprint } = parseHostKeyBlob(key);
    assert.equal(
      error.message,
      `web1: host key for 10.0.0.5 (ssh-ed25519 ${fingerprint}) is not in ${file}; check the fingerprint and add it ` +
        `(ssh-keyscan -p 22 10.0.0.5 >> ${file}), or set host_key_checking = "accept-new"`,
    );
    assert.equal(existsSync(file), false);
  });

  it('strict: accepts a known key', async () => {
    const file = join(dir, 'known1');
    const key = blob('ssh-ed25519');
    writeFileSync(file, `10.0.0.5 ssh-ed25519 ${key.toString('base64')}\n`);
    assert.equal(await verifyHostKey('web1', target(file, 'strict'), key), 'known');
  });

  it('changed: names the file and line, under both modes', async () => {
    const file = join(dir, 'known2');
    writeFileSync(file, `# hosts\nweb9 ssh-ed25519 ${blob('ssh-ed25519').toString('base64')}\n[10.0.0.5]:2222 ssh-ed25519 ${blob('ssh-ed25519').toString('base64')}\n`);
    const before = readFileSync(file, 'utf8');
    for (const mode of ['strict', 'accept-new'] as const) {
      const error = await refusal(verifyHostKey('web1', target(file, mode, '10.0.0.5', 2222), blob('ssh-ed25519')));
      assert.equal(error.kind, 'host-key-changed');
      assert.match(error.message, / does not match .*known2 line 3; if the host was rebuilt, remove that line \(ssh-keygen -f \S*known2 -R '\[10\.0\.0\.5\]:2222'\)/);
    }
    assert.equal(readFileSync(file, 'utf8'), before);
  });

  it('revoked: refused even under accept-new', async () => {
    const file = join(dir, 'known3');
    const key = blob('ssh-ed25519');
    writeFileSync(file, `@revoked * ssh-ed25519 ${key.toString('base64')}\n`);
    const error = await refusal(verifyHostKey('web1', target(file, 'accept-new'), key));
    assert.equal(error.kind, 'host-key-changed');
    assert.match(error.message, /@revoked .* line 1/);
  });

  it('strict: other key types only is unknown, and the message says so', async () => {
    const file = join(dir, 'known4');
    writeFileSync(file, `10.0.0.5 ssh-rsa ${blob('ssh-rsa').toString('base64')}\n`);
    const error = await refusal(verifyHostKey('web1', target(file, 'strict'), blob('ssh-ed25519')));
    assert.equal(error.kind, 'host-key-unknown');
    assert.match(error.message, /other key types for it: ssh-rsa at line 1/);
  });

  it('accept-new: creates the directory and a 0600 file, then knows the key', async () => {
    const file = join(dir, 'new', 'deeper', 'known_hosts');
    const key = blob('ssh-ed25519');
    assert.equal(await verifyHostKey('web1', target(file, 'accept-new', '10.0.0.5', 2222), key), 'added');
    assert.equal(readFileSync(file, 'utf8'), `[10.0.0.5]:2222 ssh-ed25519 ${key.toString('base64')}\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(await verifyHostKey('web1', target(file, 'strict', '10.0.0.5', 2222), key), 'known');
  });

  it('accept-new: appends after a last line without newline', async () => {
    const file = join(dir, 'known5');
    writeFileSync(file, `# no newline at end`);
    const key = blob('ssh-ed25519');
    await verifyHostKey('web1', target(file, 'accept-new'), key);
    assert.equal(readFileSync(file, 'utf8'), `# no newline at end\n10.0.0.5 ssh-ed25519 ${key.toString('base64')}\n`);
  });

  it('accept-new: concurrent hosts are appended one line each, without duplicates', async () => {
    const file = join(dir, 'known6');
    const keys = Array.from({ length: 6 }, () => blob('ssh-ed25519'));
    const attempts = keys.flatMap((key, i) =>
      [0, 1, 2].map(() => verifyHostKey(`web${i}`, target(file, 'accept-new', `10.0.1.${i}`), key)),
    );
    const results = await Promise.all(attempts);
    assert.equal(results.filter((r) => r === 'added').length, keys.length);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, keys.length);
    for (const [i, key] of keys.entries()) assert.ok(lines.includes(`10.0.1.${i} ssh-ed25519 ${key.toString('base64')}`));
  });
});
