import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { diffSnapshots, hostRoot, labDown, labExec, labReset, labUp, snapshotHost } from '../lab/lab.js';
import { recapOf, REPO, runCli, tasksWith } from '../helpers/cli.js';
import { labInventory } from './lab-inventory.js';

/**
 * The runner against real Debian hosts over real SSH: root on one, `deploy` (sudo without a
 * password) on another, `alice` (sudo with a password) on a third. Every scenario runs twice.
 */
const HOSTS = { lb: '10.231.0.11', is1: '10.231.0.12', is2: '10.231.0.13', db: '10.231.0.14' };
const EXAMPLE = path.join(REPO, 'playbooks/example.ts');

before(async () => {
  await labUp(HOSTS);
});
after(async () => {
  await labDown();
});

function stateOf(host: string, files: string[]): string[] {
  return files.map((f) => {
    const full = path.join(hostRoot(host), f);
    if (!existsSync(full)) return `${f} absent`;
    const st = statSync(full);
    // The handler appends `date`: its lines differ by host and second, so only their number counts.
    const text = !st.isFile() ? 'dir' : f.endsWith('/reloads') ? `${readFileSync(full, 'utf8').split('\n').filter(Boolean).length} lines` : readFileSync(full, 'utf8');
    return `${f} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${text.replace(/is1|is2|db/g, 'HOST').replace(/10\.231\.0\.\d+/g, 'IP')}`;
  });
}

test('example playbook: root, sudo and sudo-with-password hosts converge to the same state; re-run changes nothing', async () => {
  await Promise.all(['is1', 'is2', 'db'].map(labReset));
  const inventory = labInventory(
    [
      { name: 'is1', ip: HOSTS.is1, groups: ['app'] },
      // A password given where sudo asks for none must not reach the commands' stdin.
      { name: 'is2', ip: HOSTS.is2, user: 'deploy', become: true, groups: ['app'], vars: '{ become_password = "unused-pw" }' },
      { name: 'db', ip: HOSTS.db, user: 'alice', become: true, groups: ['app'], vars: '{ become_password = { env = "ISP_ALICE_PW" } }' },
    ],
  );
  const env = { ISP_ALICE_PW: 'alice-sudo-pw' };
  const first = await runCli(['run', EXAMPLE, '-i', inventory, '--json'], { env });
  assert.equal(first.code, 0, first.stdout + first.stderr);
  for (const h of ['is1', 'is2', 'db']) {
    assert.equal(recapOf(first)[h]!.changed, 7, `${h}: ${tasksWith(first, 'changed').join(', ')}`);
  }
  assert.doesNotMatch(first.stdout, /alice-sudo-pw/);
  const files = ['opt/app', 'opt/app/motd', 'opt/app/app.conf', 'opt/app/env', 'opt/app/.init', 'opt/app/reloads'];
  assert.deepEqual(stateOf('is2', files), stateOf('is1', files));
  assert.deepEqual(stateOf('db', files), stateOf('is1', files));
  assert.match(readFileSync(path.join(hostRoot('is1'), 'etc/hosts'), 'utf8'), /^127\.0\.0\.1\s.*\bapp\.local\b/m);
  assert.equal(readFileSync(path.join(hostRoot('is2'), 'opt/app/reloads'), 'utf8').split('\n').filter(Boolean).length, 1);

  const second = await runCli(['run', EXAMPLE, '-i', inventory, '--json'], { env });
  assert.equal(second.code, 0, second.stdout + second.stderr);
  for (const h of ['is1', 'is2', 'db']) assert.equal(recapOf(second)[h]!.changed, 0, tasksWith(second, 'changed').join(', '));
  assert.equal(readFileSync(path.join(hostRoot('is2'), 'opt/app/reloads'), 'utf8').split('\n').filter(Boolean).length, 1, 'no handler on the re-run');
});

test('dry-run on a fresh host leaves it byte for byte as it was, and predicts the apply exactly', async () => {
  await labReset('lb');
  const inventory = labInventory([{ name: 'lb', ip: HOSTS.lb, groups: ['app'] }]);
  const before = await snapshotHost('lb');
  const dry = await runCli(['run', EXAMPLE, '-i', inventory, '--json', '--dry-run'], {});
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  assert.deepEqual(diffSnapshots(before, await snapshotHost('lb')), []);
  const conf = dry.events.find((e) => e.task === 'template templates/app.conf.hbs → /opt/app/app.conf');
  assert.ok(conf?.diff?.includes('+listen = 8080'), JSON.stringify(conf));
  const apply = await runCli(['run', EXAMPLE, '-i', inventory, '--json'], {});
  assert.equal(apply.code, 0);
  assert.deepEqual(tasksWith(apply, 'changed').sort(), tasksWith(dry, 'changed').sort());
  const again = await runCli(['run', EXAMPLE, '-i', inventory, '--json', '--dry-run'], {});
  assert.equal(recapOf(again).lb!.changed, 0);
});

test('hostile file names and contents arrive literally and are never executed', async () => {
  await labReset('is1');
  const name = `/tmp/hostile dir/it's a "q" $(touch /tmp/pwned1) ;x\`touch /tmp/pwned2\`.txt`;
  const content = `$(touch /tmp/pwned3)\n\`touch /tmp/pwned4\`; echo hi > /tmp/pwned5\n'"\\ \t EOF\nEOF\n`;
  const dir = mkdtempSync(path.join(tmpdir(), 'isp-hostile-'));
  writeFileSync(path.join(dir, 'p.ts'), `import { definePlaybook, file, copy, line, command } from 'is-provision';
export default definePlaybook({ name: 'hostile', plays: [{ name: 'p', hosts: 'all', tasks: [
  file({ path: ${JSON.stringify(path.dirname(name))}, state: 'directory' }),
  copy({ dest: ${JSON.stringify(name)}, content: ${JSON.stringify(content)} }),
  line({ path: ${JSON.stringify(name + '.lines')}, line: '$(touch /tmp/pwned6)', create: true }),
  command({ cmd: ['touch', ${JSON.stringify(name + '.argv')}] }),
] }] });`);
  const inventory = labInventory([{ name: 'is1', ip: HOSTS.is1 }]);
  for (const round of [1, 2]) {
    const result = await runCli(['run', path.join(dir, 'p.ts'), '-i', inventory, '--json']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(recapOf(result).is1!.changed, round === 1 ? 4 : 1, 'the argv command always runs');
  }
  assert.equal(readFileSync(path.join(hostRoot('is1'), name), 'utf8'), content);
  assert.equal(readFileSync(path.join(hostRoot('is1'), name + '.lines'), 'utf8'), '$(touch /tmp/pwned6)\n');
  assert.ok(existsSync(path.join(hostRoot('is1'), name + '.argv')));
  const pwned = await labExec('is1', 'ls /tmp/pwned* 2>/dev/null | wc -l');
  assert.equal(pwned.stdout.trim(), '0');
});

test('host keys: unknown and changed keys are refused; accept-new records a new key', async () => {
  const hosts = [{ name: 'is2', ip: HOSTS.is2 }];
  const dir = mkdtempSync(path.join(tmpdir(), 'isp-keys-'));
  writeFileSync(path.join(dir, 'p.ts'), `import { definePlaybook, command } from 'is-provision';
export default definePlaybook({ name: 'k', plays: [{ name: 'p', hosts: 'all', tasks: [command({ cmd: 'true' })] }] });`);
  const play = path.join(dir, 'p.ts');

  const refused = await runCli(['run', play, '-i', labInventory(hosts, { knownHosts: '' }), '--json']);
  assert.equal(refused.code, 1);
  assert.equal(recapOf(refused).is2!.unreachable, true);
  const message = refused.events.find((e) => e.type === 'unreachable')!.message as string;
  assert.match(message, /is not in .*known_hosts/);
  assert.match(message, /ssh-keyscan|accept-new/);

  const keyFile = path.join(dir, 'other');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
  const otherKey = readFileSync(keyFile + '.pub', 'utf8').split(' ').slice(0, 2).join(' ');
  for (const checking of ['strict', 'accept-new']) {
    const changed = await runCli(['run', play, '-i', labInventory(hosts, { knownHosts: `${HOSTS.is2} ${otherKey}\n`, checking }), '--json']);
    assert.equal(changed.code, 1);
    assert.match(changed.events.find((e) => e.type === 'unreachable')!.message, /does not match .*known_hosts line 1/);
  }

  const inventory = labInventory(hosts, { knownHosts: '', checking: 'accept-new' });
  const accepted = await runCli(['run', play, '-i', inventory, '--json']);
  assert.equal(accepted.code, 0, accepted.stdout);
  const recorded = readFileSync(path.join(inventory, 'known_hosts'), 'utf8');
  assert.match(recorded, /10\.231\.0\.13 ssh-/);
  const strictAfter = labInventory(hosts, { knownHosts: recorded });
  assert.equal((await runCli(['run', play, '-i', strictAfter, '--json'])).code, 0);
});

test('a task failing on one host stops that host only; the others finish; exit 1; a fixed re-run converges', async () => {
  await Promise.all(['is1', 'is2'].map(labReset));
  const dir = mkdtempSync(path.join(tmpdir(), 'isp-fail-'));
  const play = path.join(dir, 'p.ts');
  const write = (failOn: string) =>
    writeFileSync(play, `import { definePlaybook, command, copy } from 'is-provision';
export default definePlaybook({ name: 'f', plays: [{ name: 'p', hosts: 'all', tasks: ({ host }) => [
  copy({ name: 'before', dest: '/opt/before', content: 'x' }),
  command({ name: 'check', cmd: host.name === ${JSON.stringify(failOn)} ? 'echo "disk full" >&2; exit 7' : 'touch /opt/checked', creates: '/opt/checked' }),
  copy({ name: 'after', dest: '/opt/after', content: 'y' }),
] }] });`);
  const inventory = labInventory([{ name: 'is1', ip: HOSTS.is1 }, { name: 'is2', ip: HOSTS.is2 }]);
  write('is1');
  const failed = await runCli(['run', play, '-i', inventory, '--json']);
  assert.equal(failed.code, 1);
  const failure = failed.events.find((e) => e.type === 'task' && e.status === 'failed')!;
  assert.equal(failure.host, 'is1');
  assert.match(failure.reason, /exit code 7: disk full/);
  assert.equal(existsSync(path.join(hostRoot('is1'), 'opt/after')), false);
  assert.equal(readFileSync(path.join(hostRoot('is2'), 'opt/after'), 'utf8'), 'y');
  write('nobody');
  const fixed = await runCli(['run', play, '-i', inventory, '--json']);
  assert.equal(fixed.code, 0);
  assert.deepEqual(tasksWith(fixed, 'changed').sort(), ['is1/after', 'is1/check']);
});
