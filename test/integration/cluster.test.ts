import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import { diffSnapshots, hostRoot, labDir, labDown, labExec, labReset, labUp, snapshotHost } from '../lab/lab.js';
import { recapOf, REPO, runCli, tasksWith, type CliResult } from '../helpers/cli.js';

/**
 * The headline job end to end: playbooks/cluster.ts on four fresh lab hosts (lb, is1, is2, db) with
 * the stand-in IS pack, checked from this machine through NGINX; then the single-host layout.
 */
const HOSTS = { lb: '10.231.0.11', is1: '10.231.0.12', is2: '10.231.0.13', db: '10.231.0.14' };
const PLAYBOOK = path.join(REPO, 'playbooks/cluster.ts');
const LAB_INVENTORY = path.join(REPO, 'inventory/lab');
const env = {};

function run(inventory: string, ...args: string[]): Promise<CliResult> {
  return runCli(['run', PLAYBOOK, '-i', inventory, '--json', ...args], { env, timeoutMs: 1_200_000 });
}

async function timed(label: string, t: { diagnostic(message: string): void }, work: () => Promise<CliResult>): Promise<CliResult> {
  const started = Date.now();
  const result = await work();
  t.diagnostic(`${label}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

/** GET over HTTPS from this machine, trusting the self-signed certificates. */
function get(url: string, host?: string): Promise<{ status: number; body: string; node?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, headers: host ? { Host: host } : {}, servername: host, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, node: res.headers['x-is-node'] as string | undefined }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.end();
  });
}

/** A copy of the lab inventory in the lab's state dir, edited; its key paths stay valid. */
function variantInventory(name: string, edit: (text: string) => string): string {
  const dir = path.join(labDir(), `inventory-${name}`);
  mkdirSync(dir, { recursive: true });
  const text = readFileSync(path.join(LAB_INVENTORY, 'hosts.toml'), 'utf8').replaceAll('../../.lab/', '../');
  writeFileSync(path.join(dir, 'hosts.toml'), edit(text));
  return dir;
}

const pidOf = (host: string, file: string) => readFileSync(path.join(hostRoot(host), file), 'utf8').trim();
const NODE1_PID = 'opt/wso2/node1/wso2is-5.10.0/wso2carbon.pid';
const NODE2_PID = 'opt/wso2/node2/wso2is-5.10.0/wso2carbon.pid';

before(async () => {
  execFileSync(path.join(REPO, 'scripts/standin-pack/build.sh'), [], { stdio: 'inherit' });
  await labUp(HOSTS);
  await Promise.all(Object.keys(HOSTS).map(labReset));
});
after(async () => {
  await labDown();
});

test('cluster on four fresh hosts: dry-run, apply, serve through NGINX, re-run, change a var, fail over', async (t) => {
  const names = Object.keys(HOSTS);
  const fresh = await Promise.all(names.map(snapshotHost));

  // 7: a dry-run on fresh hosts succeeds and touches nothing.
  const dry = await timed('dry-run, fresh hosts', t, () => run(LAB_INVENTORY, '--dry-run'));
  assert.equal(dry.code, 0, dry.stdout + dry.stderr);
  for (const [i, name] of names.entries()) assert.deepEqual(diffSnapshots(fresh[i]!, await snapshotHost(name)), [], `${name} untouched by the dry-run`);

  // 1: apply from nothing.
  const cold = await timed('cold run', t, () => run(LAB_INVENTORY));
  assert.equal(cold.code, 0, cold.stdout + cold.stderr);
  assert.deepEqual(tasksWith(cold, 'changed').sort(), tasksWith(dry, 'changed').sort(), 'the dry-run predicted exactly what the apply changed');
  assert.doesNotMatch(cold.stdout, new RegExp(readFileSync(path.join(labDir(), 'db_password'), 'utf8').trim()));

  const viaLb = await get(`https://${HOSTS.lb}/carbon/`, 'is.wso2.com');
  assert.equal(viaLb.status, 200, viaLb.body);
  assert.match(viaLb.body, /node=node[12]/);
  const node1 = await get(`https://${HOSTS.is1}:9443/carbon/`);
  const node2 = await get(`https://${HOSTS.is2}:9444/carbon/`);
  assert.equal(node1.status, 200);
  assert.match(node1.body, /node=node1/);
  assert.equal(node2.status, 200);
  assert.match(node2.body, /node=node2/);
  for (const db of ['IdentityDB', 'SharedDB', 'PrimaryUserStore']) {
    const tables = await labExec('db', `mysql -N -e "select count(*) from information_schema.tables where table_schema='${db}' and table_name <> 'is_provision_ledger'"`);
    assert.ok(Number(tables.stdout.trim()) > 0, `${db} has the scripts' tables: ${tables.stdout}${tables.stderr}`);
  }
  const toml1 = readFileSync(path.join(hostRoot('is1'), 'opt/wso2/node1/wso2is-5.10.0/repository/conf/deployment.toml'), 'utf8');
  assert.match(toml1, /^hostname = "is.wso2.com"$/m);
  assert.match(toml1, /proxyPort = 443/);
  assert.match(toml1, /jdbc:mysql:\/\/10\.231\.0\.14:3306\/IdentityDB/);

  // 2: a second run changes nothing and restarts nothing.
  const pids = [pidOf('is1', NODE1_PID), pidOf('is2', NODE2_PID)];
  const warm = await timed('warm run', t, () => run(LAB_INVENTORY));
  assert.equal(warm.code, 0, warm.stdout);
  for (const name of names) assert.equal(recapOf(warm)[name]!.changed, 0, `${name}: ${tasksWith(warm, 'changed').join(', ')}`);
  assert.deepEqual([pidOf('is1', NODE1_PID), pidOf('is2', NODE2_PID)], pids);

  // 3: a dry-run after changing a var lists exactly the changes the next run makes, with narrow diffs.
  const before = await Promise.all(names.map(snapshotHost));
  const planned = await run(LAB_INVENTORY, '--dry-run', '-e', 'is_hostname=id.example.com');
  assert.equal(planned.code, 0, planned.stdout);
  // The dry-run's read-only checks (waitFor of each node's URL) make the nodes log the requests they
  // answered: that is the servers' doing, like a login record, not a change the dry-run made.
  const served = (p: string) => /\/repository\/logs\/[^/]+$/.test(p);
  for (const [i, name] of names.entries()) {
    assert.deepEqual(diffSnapshots(before[i]!, await snapshotHost(name)).filter((p) => !served(p)), [], `${name} untouched`);
  }
  const diffs = planned.events.filter((e) => e.type === 'task' && e.diff).map((e) => `${e.host}: ${e.diff}`);
  const deploymentDiff = diffs.find((d) => d.startsWith('is1: ') && d.includes('deployment.toml'))!;
  assert.ok(deploymentDiff, diffs.join('\n'));
  assert.deepEqual(deploymentDiff.split('\n').filter((l) => /^[-+][^-+]/.test(l)), ['-hostname = "is.wso2.com"', '+hostname = "id.example.com"']);
  assert.ok(diffs.some((d) => d.startsWith('lb: ') && d.includes('+    server_name id.example.com;')), 'the NGINX config diff');
  assert.ok(diffs.some((d) => d.startsWith('is2: ') && d.includes('id.example.com') && d.includes('/etc/hosts')), '/etc/hosts diff');
  const applied = await run(LAB_INVENTORY, '-e', 'is_hostname=id.example.com');
  assert.equal(applied.code, 0, applied.stdout);
  assert.deepEqual(tasksWith(applied, 'changed').sort(), tasksWith(planned, 'changed').sort());
  const back = await run(LAB_INVENTORY);
  assert.equal(back.code, 0, back.stdout);

  // 4: node1 marked down: NGINX reloads, nothing else changes, and node2 serves.
  const down = variantInventory('down', (text) => text.replace('{ name = "node1", offset = 0 }', '{ name = "node1", offset = 0, down = true }'));
  const nginxPid = (await labExec('lb', 'cat /run/nginx.pid')).stdout.trim();
  assert.match(nginxPid, /^\d+$/);
  const nodePids = [pidOf('is1', NODE1_PID), pidOf('is2', NODE2_PID)];
  const failover = await run(down);
  assert.equal(failover.code, 0, failover.stdout);
  const changed = tasksWith(failover, 'changed');
  assert.ok(changed.length > 0 && changed.every((c) => c.startsWith('lb/')), changed.join(', '));
  assert.ok(changed.some((c) => /reload/.test(c)), `NGINX reloaded: ${changed.join(', ')}`);
  assert.equal((await labExec('lb', 'cat /run/nginx.pid')).stdout.trim(), nginxPid, 'reloaded, not restarted');
  assert.deepEqual([pidOf('is1', NODE1_PID), pidOf('is2', NODE2_PID)], nodePids);
  for (let i = 0; i < 4; i++) {
    const answer = await get(`https://${HOSTS.lb}/carbon/`, 'is.wso2.com');
    assert.equal(answer.status, 200);
    assert.match(answer.body, /node=node2/);
  }
});

/** The lab inventory rewritten for one host holding NGINX, node1, node2 and the database. */
function singleHost(name: string, address: string, engine: 'mysql' | 'postgresql'): string {
  return variantInventory(name, (text) =>
    text
      .replace(/\[hosts\.lb\][\s\S]*$/, '')
      .replace('db_engine = "mysql"', `db_engine = "${engine}"`)
      .concat(
        `[hosts.wso2]\naddress = "${address}"\n` +
          'vars = { nodes = [{ name = "node1", offset = 0 }, { name = "node2", offset = 1 }] }\n' +
          '[groups.lb]\nhosts = ["wso2"]\n[groups.is]\nhosts = ["wso2"]\n[groups.db]\nhosts = ["wso2"]\n',
      ),
  );
}

for (const [engine, host] of [['mysql', 'lb'], ['postgresql', 'is1']] as const) {
  test(`single-host layout (${engine}): NGINX, node1, node2 and the database on one host`, async (t) => {
    await labReset(host);
    const address = HOSTS[host];
    const single = singleHost(`single-${engine}`, address, engine);
    const first = await timed(`single host (${engine}), cold run`, t, () => run(single));
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const second = await timed(`single host (${engine}), warm run`, t, () => run(single));
    assert.equal(second.code, 0, second.stdout);
    assert.equal(recapOf(second).wso2!.changed, 0, tasksWith(second, 'changed').join(', '));
    const viaLb = await get(`https://${address}/carbon/`, 'is.wso2.com');
    assert.equal(viaLb.status, 200);
    assert.match((await get(`https://${address}:9443/carbon/`)).body, /node=node1/);
    assert.match((await get(`https://${address}:9444/carbon/`)).body, /node=node2/);
    const deployment = readFileSync(path.join(hostRoot(host), 'opt/wso2/node2/wso2is-5.10.0/repository/conf/deployment.toml'), 'utf8');
    assert.match(deployment, /^offset = 1$/m);
    assert.match(deployment, engine === 'mysql' ? /jdbc:mysql:/ : /jdbc:postgresql:/);
  });
}
