import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { Secret } from '../../src/shell/secret.js';
import { inventoryListing, loadInventory } from '../../src/inventory/load.js';
import type { ConnectionSettings, Inventory } from '../../src/inventory/types.js';
import { fixture, load } from './helpers.js';

const host = (inventory: Inventory, name: string) => {
  const found = inventory.hosts.find((h) => h.name === name);
  assert.ok(found, `host ${name}`);
  return found;
};

const contract = `
[defaults]
user = "root"
identity_file = "keys/id_ed25519"
known_hosts = "known_hosts"
host_key_checking = "strict"
ssh_config = "ssh_config"
become = false
[vars]
greeting = "hello"
db_password = { env = "IS_DB_PASSWORD" }
api_key = { file = "secrets/api_key" }
[hosts.web1]
address = "203.0.113.10"
port = 22
vars = { role = "primary" }
[hosts.web2]
[groups.app]
hosts = ["web1", "web2"]
vars = { port = 8080 }
`;

test('the documented hosts.toml loads as documented', async () => {
  const inventory = await load({
    'hosts.toml': contract,
    'keys/id_ed25519': 'key',
    'secrets/api_key': 's3cret\n',
    ssh_config: 'Host web2\n  HostName 10.0.0.2\n  Port 2222\n',
  }, { env: { IS_DB_PASSWORD: 'pw', SSH_AUTH_SOCK: '/run/agent.sock' } });
  const base = path.dirname(inventory.file);
  assert.equal(path.basename(inventory.file), 'hosts.toml');
  assert.deepEqual(inventory.hosts.map((h) => [h.name, h.address, h.groups]), [
    ['web1', '203.0.113.10', ['app']],
    ['web2', '10.0.0.2', ['app']],
  ]);
  assert.deepEqual(inventory.groups, { all: ['web1', 'web2'], app: ['web1', 'web2'] });
  const expected: ConnectionSettings = {
    address: '10.0.0.2',
    port: 2222,
    user: 'root',
    identityFiles: [path.join(base, 'keys/id_ed25519')],
    agent: '/run/agent.sock',
    knownHosts: path.join(base, 'known_hosts'),
    hostKeyChecking: 'strict',
    proxyJump: [],
    connectTimeout: 10,
    transport: 'ssh',
  };
  assert.deepEqual(host(inventory, 'web2').connection, expected);
  const vars = host(inventory, 'web1').vars;
  assert.deepEqual(Object.keys(vars), ['greeting', 'db_password', 'api_key', 'port', 'role']);
  assert.equal(vars.port, 8080);
  assert.ok(vars.db_password instanceof Secret && vars.api_key instanceof Secret);
  assert.equal(vars.db_password.reveal(), 'pw');
  assert.equal(vars.api_key.reveal(), 's3cret');
  assert.deepEqual(inventory.secrets.map((s) => s.source), ['env IS_DB_PASSWORD', 'file secrets/api_key']);
  assert.equal(host(inventory, 'web1').become, false);
});

// Settings precedence: host entry > ssh_config > [defaults] > built-ins.
const precedence: { name: string; defaults?: string; host?: string; sshConfig?: string; expect: Partial<ConnectionSettings> }[] = [
  { name: 'built-ins', expect: { user: 'tester', port: 22, hostKeyChecking: 'strict', connectTimeout: 10, identityFiles: [], address: 'web' } },
  { name: 'defaults over built-ins', defaults: 'user = "d"\nport = 2200\nconnect_timeout = 3\nhost_key_checking = "accept-new"', expect: { user: 'd', port: 2200, connectTimeout: 3, hostKeyChecking: 'accept-new' } },
  {
    name: 'ssh_config over defaults',
    defaults: 'user = "d"\nport = 2200\nconnect_timeout = 3\nhost_key_checking = "accept-new"',
    sshConfig: 'Host web\n  User s\n  Port 2201\n  ConnectTimeout 4\n  StrictHostKeyChecking yes\n  HostName 10.1.1.1',
    expect: { user: 's', port: 2201, connectTimeout: 4, hostKeyChecking: 'strict', address: '10.1.1.1' },
  },
  {
    name: 'host entry over ssh_config',
    host: 'user = "h"\nport = 2202\nconnect_timeout = 5\nhost_key_checking = "accept-new"\naddress = "10.2.2.2"',
    sshConfig: 'Host web\n  User s\n  Port 2201\n  ConnectTimeout 4\n  StrictHostKeyChecking no\n  HostName 10.1.1.1',
    expect: { user: 'h', port: 2202, connectTimeout: 5, hostKeyChecking: 'accept-new', address: '10.2.2.2' },
  },
  {
    name: 'explicit address is the HostName that Match host sees',
    host: 'address = "10.9.9.9"',
    sshConfig: 'Match host 10.9.*\n  User matched',
    expect: { user: 'matched', address: '10.9.9.9' },
  },
  {
    name: '[defaults] user is the user Match user sees',
    defaults: 'user = "deploy"',
    sshConfig: 'Match user deploy\n  Port 2022',
    expect: { user: 'deploy', port: 2022 },
  },
  {
    name: 'ssh_config identity files replace the default key; missing ones are skipped',
    defaults: 'identity_file = "keys/default"',
    sshConfig: 'Host web\n  IdentityFile ~/.ssh/missing\n  IdentityFile ~/.ssh/id_%h',
    expect: { identityFiles: ['<home>/.ssh/id_web'] },
  },
  {
    name: 'host identity file replaces ssh_config ones',
    host: 'identity_file = "~/.ssh/id_web"',
    sshConfig: 'Host web\n  IdentityFile keys/default',
    expect: { identityFiles: ['<home>/.ssh/id_web'] },
  },
  {
    name: 'UserKnownHostsFile over [defaults] known_hosts',
    defaults: 'known_hosts = "kh"',
    sshConfig: 'Host *\n  UserKnownHostsFile ~/.ssh/kh_%n',
    expect: { knownHosts: '<home>/.ssh/kh_web' },
  },
];

for (const { name, defaults, host: hostKeys, sshConfig, expect } of precedence) {
  test(`precedence: ${name}`, async () => {
    const files: Record<string, string> = {
      'hosts.toml': `[defaults]\n${defaults ?? ''}\n[hosts.web]\n${hostKeys ?? ''}\n`,
      'keys/default': 'k',
      'home/.ssh/id_web': 'k',
    };
    if (sshConfig !== undefined) files['home/.ssh/config'] = `${sshConfig}\n`;
    const inventory = await load(files);
    const home = path.join(path.dirname(inventory.file), 'home');
    const connection = host(inventory, 'web').connection;
    for (const [key, value] of Object.entries(expect)) {
      const wanted = JSON.parse(JSON.stringify(value).replaceAll('<home>', home)) as unknown;
      assert.deepEqual(connection[key as keyof ConnectionSettings], wanted, key);
    }
  });
}

test('vars: [vars] < all < parent group < child group < host, group_vars/host_vars over inline, top-level replace', async () => {
  const inventory = await load({
    'hosts.toml': `
[vars]
level = "inventory"
only_inventory = 1
nested = { a = 1, b = 2 }
[hosts.web1]
vars = { level = "host", from_host = true }
[hosts.db1]
[groups.all]
vars = { level = "all", only_all = true }
[groups.app]
children = ["web"]
vars = { level = "app", from_app = "inline" }
[groups.web]
hosts = ["web1"]
vars = { level = "web", nested = { a = 10 } }
[groups.eu]
hosts = ["web1", "db1"]
vars = { level = "eu" }
`,
    'group_vars/app.toml': 'from_app = "file"\n',
    'group_vars/all.toml': 'only_all_file = 1\n',
    'host_vars/web1.toml': 'from_host = "file"\n',
  });
  const web1 = host(inventory, 'web1');
  // app and eu are roots (declaration order), web is app's child, so it applies after both.
  assert.deepEqual(web1.groups, ['app', 'eu', 'web']);
  assert.deepEqual(web1.vars, {
    level: 'host',
    only_inventory: 1,
    nested: { a: 10 },
    only_all: true,
    only_all_file: 1,
    from_app: 'file',
    from_host: 'file',
  });
  assert.deepEqual(host(inventory, 'db1').vars, { level: 'eu', only_inventory: 1, nested: { a: 1, b: 2 }, only_all: true, only_all_file: 1 });
  assert.deepEqual(inventory.groups, { all: ['web1', 'db1'], app: ['web1'], web: ['web1'], eu: ['web1', 'db1'] });
});

test('group members follow inventory order and nested children', async () => {
  const inventory = await load({
    'hosts.toml': '[hosts.a]\n[hosts.b]\n[hosts.c]\n[groups.top]\nchildren = ["mid"]\nhosts = ["c"]\n[groups.mid]\nchildren = ["leaf"]\n[groups.leaf]\nhosts = ["b", "a"]\n',
  });
  assert.deepEqual(inventory.groups, { all: ['a', 'b', 'c'], top: ['a', 'b', 'c'], mid: ['a', 'b'], leaf: ['a', 'b'] });
  assert.deepEqual(host(inventory, 'a').groups, ['top', 'mid', 'leaf']);
  assert.deepEqual(host(inventory, 'c').groups, ['top']);
});

test('secrets: env and file, at any depth, one trailing newline stripped, masked everywhere', async () => {
  const inventory = await load({
    'hosts.toml': '[vars]\ndb = { users = [{ password = { env = "PW" } }] }\n[hosts.web1]\nvars = { key = { file = "~/key" }, plain = { env = "X", other = 1 } }\n',
    'home/key': 'line\n\n',
  }, { env: { PW: 'hunter2' } });
  const vars = host(inventory, 'web1').vars;
  const db = vars.db as { users: { password: Secret }[] };
  const password = db.users[0]?.password;
  assert.ok(password instanceof Secret);
  assert.equal(password.reveal(), 'hunter2');
  assert.ok(vars.key instanceof Secret);
  assert.equal(vars.key.reveal(), 'line\n');
  // Not exactly { env }: an ordinary table.
  assert.deepEqual(vars.plain, { env: 'X', other: 1 });
  assert.equal(inventory.secrets.length, 2);
  assert.equal(JSON.stringify(vars), '{"db":{"users":[{"password":"***"}]},"key":"***","plain":{"env":"X","other":1}}');
  assert.ok(!inspect(inventory, { depth: 20 }).includes('hunter2'));
});

test('the result is deeply frozen, but Secrets are left alone', async () => {
  const inventory = await load({ 'hosts.toml': '[vars]\nlist = [1, { x = 2 }]\ns = { env = "S" }\n[hosts.web1]\n' }, { env: { S: 'v' } });
  const web1 = host(inventory, 'web1');
  for (const value of [inventory, inventory.hosts, inventory.groups, inventory.groups.all, inventory.secrets, web1, web1.groups, web1.vars, web1.vars.list, (web1.vars.list as unknown[])[1], web1.connection, web1.connection.identityFiles]) {
    assert.ok(Object.isFrozen(value));
  }
  assert.ok(!Object.isFrozen(web1.vars.s));
  assert.equal((web1.vars.s as Secret).reveal(), 'v');
});

test('-i may be a directory or any .toml file; relative paths are from cwd', async () => {
  const dir = await fixture({ 'inv/prod.toml': '[hosts.web1]\naddress = "1.2.3.4"\n' });
  const options = { cwd: dir, home: path.join(dir, 'home'), env: {} };
  const fromFile = await loadInventory('inv/prod.toml', options);
  assert.equal(fromFile.file, path.join(dir, 'inv/prod.toml'));
  const fromDir = await load({ 'prod/hosts.toml': '[hosts.web1]\n' }, { path: 'prod' });
  assert.equal(path.basename(path.dirname(fromDir.file)), 'prod');
});

test('transport local skips ssh_config; become and agent', async () => {
  const inventory = await load({
    'hosts.toml': '[defaults]\nbecome = true\n[hosts.here]\ntransport = "local"\nbecome = false\n[hosts.there]\n',
    'home/.ssh/config': 'Host *\n  User fromconfig\n  ProxyCommand nc %h %p\nHost there\n',
  }).catch((error: unknown) => error);
  // ProxyCommand is refused for ssh hosts, which proves "here" never consulted the file.
  assert.ok(inventory instanceof Error);
  assert.match(inventory.message, /ProxyCommand is not supported \(host "there"\); use ProxyJump$/);
  const local = await load({ 'hosts.toml': '[defaults]\nbecome = true\n[hosts.here]\ntransport = "local"\nbecome = false\n[hosts.box]\n', 'home/.ssh/config': 'Host *\n  User fromconfig\n' });
  assert.deepEqual([host(local, 'here').connection.user, host(local, 'here').connection.transport, host(local, 'here').become], ['tester', 'local', false]);
  assert.deepEqual([host(local, 'box').connection.user, host(local, 'box').become, 'agent' in host(local, 'box').connection], ['fromconfig', true, false]);
});

test('ssh_config = "none" ignores ~/.ssh/config', async () => {
  const inventory = await load({ 'hosts.toml': '[defaults]\nssh_config = "none"\n[hosts.web]\n', 'home/.ssh/config': 'Host *\n  User other\n' });
  assert.equal(host(inventory, 'web').connection.user, 'tester');
});

test('ProxyJump through an inventory host uses its hosts.toml settings, jump spec overriding', async () => {
  const inventory = await load({
    'hosts.toml': '[hosts.bastion]\naddress = "198.51.100.7"\nuser = "jump"\nport = 2022\n[hosts.inner]\n',
    'home/.ssh/config': 'Host inner\n  HostName 10.0.0.5\n  ProxyJump bastion,admin@hop:2200\n',
  });
  const jumps = host(inventory, 'inner').connection.proxyJump.map((j) => `${j.user}@${j.address}:${j.port}`);
  assert.deepEqual(jumps, ['jump@198.51.100.7:2022', 'admin@hop:2200']);
});

test('inventoryListing is JSON with Secrets as ***', async () => {
  const inventory = await load({ 'hosts.toml': '[vars]\ntoken = { env = "T" }\n[hosts.web1]\naddress = "10.0.0.1"\nuser = "u"\n[groups.app]\nhosts = ["web1"]\n' }, { env: { T: 'tok' } });
  assert.equal(
    JSON.stringify(inventoryListing(inventory)),
    '{"hosts":{"web1":{"address":"10.0.0.1","port":22,"user":"u","groups":["app"],"vars":{"token":"***"}}},"groups":{"all":["web1"],"app":["web1"]}}',
  );
});

test('a var named __proto__ is an ordinary key', async () => {
  const inventory = await load({ 'hosts.toml': '[vars]\n"__proto__" = { polluted = true }\n[hosts.web1]\n' });
  const vars = host(inventory, 'web1').vars;
  assert.equal(Object.getPrototypeOf(vars), Object.prototype);
  assert.deepEqual(Object.keys(vars), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
