// The lab itself: real sshd, strict host keys, the sudo setup tests rely on,
// reset and snapshots. Needs root; fails (does not skip) elsewhere.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  diffSnapshots,
  hostRoot,
  labAvailable,
  labDir,
  labDown,
  labExec,
  labFiles,
  labHosts,
  labReset,
  labUp,
  snapshotHost,
  type ExecResult,
} from './lab.js';

const HOSTS = { h1: '10.231.0.21', h2: '10.231.0.22' };

function ssh(args: string[], stdin = ''): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile('ssh', ['-F', labFiles().sshConfig, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      if (code === -1) reject(error);
      else resolve({ code, stdout, stderr });
    });
    child.stdin?.end(stdin);
  });
}

async function sshOk(args: string[], stdin = ''): Promise<string> {
  const result = await ssh(args, stdin);
  assert.equal(result.code, 0, `ssh ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

describe('lab', () => {
  before(async () => {
    assert.ok(labAvailable(), 'the lab needs root plus debootstrap, iproute2, util-linux, openssh and apt-cacher-ng');
    await labUp(HOSTS);
  }, { timeout: 20 * 60_000 });

  after(async () => {
    await labDown();
  });

  it('describes the hosts in hosts.json', () => {
    assert.deepEqual(labHosts(), [
      { name: 'h1', ip: HOSTS.h1, root: hostRoot('h1') },
      { name: 'h2', ip: HOSTS.h2, root: hostRoot('h2') },
    ]);
  });

  it('lets root in over ssh with the client key and strict known_hosts', async () => {
    assert.equal((await sshOk(['h1', 'hostname'])).trim(), 'h1');
    assert.equal((await sshOk(['h2', 'hostname'])).trim(), 'h2');
    assert.equal((await sshOk(['h1', 'id -un'])).trim(), 'root');
  });

  it('really checks host keys', async () => {
    const empty = join(labDir(), 'known_hosts.empty.test');
    writeFileSync(empty, '');
    const result = await ssh(['-o', `UserKnownHostsFile=${empty}`, 'h1', 'true']);
    rmSync(empty);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /host key verification failed/i);
  });

  it('connects the hosts to each other', async () => {
    const banner = await sshOk(['h1', `bash -c 'exec 3<>/dev/tcp/${HOSTS.h2}/22 && head -c 7 <&3'`]);
    assert.equal(banner, 'SSH-2.0');
  });

  it('gives deploy passwordless sudo', async () => {
    assert.equal((await sshOk(['-l', 'deploy', 'h1', 'sudo -n id -u'])).trim(), '0');
  });

  it('makes alice type a password for sudo', async () => {
    const denied = await ssh(['-l', 'alice', 'h1', 'sudo -n true']);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /password is required/);
    await sshOk(['-l', 'alice', 'h1', 'echo alice-sudo-pw | sudo -S -p "" true']);
    const wrong = await ssh(['-l', 'alice', 'h1', 'sudo -k; echo wrong | sudo -S -p "" true']);
    assert.notEqual(wrong.code, 0);
  });

  it('runs commands inside a host with labExec', async () => {
    const result = await labExec('h2', 'hostname; exit 3');
    assert.deepEqual(result, { code: 3, stdout: 'h2\n', stderr: '' });
  });

  it('sees no change in a snapshot from logins and sudo', async () => {
    const before = await snapshotHost('h2');
    await sshOk(['h2', 'true']);
    await sshOk(['-l', 'deploy', 'h2', 'sudo -n true']);
    await sshOk(['-l', 'alice', 'h2', 'echo alice-sudo-pw | sudo -S -p "" true']);
    await ssh(['-l', 'alice', 'h2', 'echo wrong | sudo -S -p "" true']);
    await ssh(['-l', 'nobody-here', 'h2', 'true']);
    const afterLogins = await snapshotHost('h2');
    assert.deepEqual(diffSnapshots(before, afterLogins), []);
  });

  it('sees real changes in a snapshot', async () => {
    const before = await snapshotHost('h2');
    await sshOk(['h2', 'echo x > /etc/lab-test && chmod 600 /etc/lab-test && rm /etc/issue.net && ln -s /x /root/link']);
    const changed = await snapshotHost('h2');
    assert.deepEqual(diffSnapshots(before, changed), ['etc/issue.net', 'etc/lab-test', 'root/link']);
    assert.equal(changed.get('etc/issue.net'), 'deleted');
    assert.match(changed.get('etc/lab-test') ?? '', /^file 0600 0:0 sha256:/);
    await sshOk(['h2', 'chmod 644 /etc/lab-test']);
    assert.deepEqual(diffSnapshots(changed, await snapshotHost('h2')), ['etc/lab-test']);
  });

  it('resets a host to a fresh filesystem with the same host key', async () => {
    const hostKey = readFileSync(join(hostRoot('h1'), 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8');
    const fresh = await snapshotHost('h1');
    await sshOk(['h1', 'touch /root/leftover && useradd bob']);
    assert.notDeepEqual(diffSnapshots(fresh, await snapshotHost('h1')), []);
    const started = Date.now();
    await labReset('h1');
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds < 10, `reset took ${seconds}s`);
    // Strict known_hosts from labUp still accepts the host.
    assert.equal((await sshOk(['h1', 'test ! -e /root/leftover && ! id bob 2>/dev/null && echo fresh'])).trim(), 'fresh');
    assert.equal(readFileSync(join(hostRoot('h1'), 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8'), hostKey);
    assert.deepEqual(diffSnapshots(fresh, await snapshotHost('h1')), []);
  });
});
