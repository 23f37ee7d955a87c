import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InventoryError } from '../../src/inventory/errors.js';
import { closest, editDistance } from '../../src/util/did-you-mean.js';
import { fixture, load, loadError, type FixtureOptions } from './helpers.js';

const twoHosts = '[hosts.web1]\n[hosts.web2]\n';

// Each case: the files of an inventory and the exact message loading it fails with.
const cases: { name: string; files: Record<string, string>; options?: FixtureOptions; message: string }[] = [
  {
    name: 'TOML syntax error, with the parser line and column',
    files: { 'hosts.toml': '[hosts.web1]\naddress = = "x"\n' },
    message: 'hosts.toml:2:11: TOML syntax error: Unexpected character, expecting string, number, datetime, boolean, inline array or inline table',
  },
  {
    name: 'unknown host key, indented',
    files: { 'hosts.toml': '[hosts.is1]\n  adress = "10.0.0.1"\n' },
    message: 'hosts.toml:2:3: unknown key "adress" in [hosts.is1] (did you mean "address"?)',
  },
  {
    name: 'unknown key inside an inline host table',
    files: { 'hosts.toml': '[hosts]\nweb1 = { adress = "x" }\n' },
    message: 'hosts.toml:2:10: unknown key "adress" in [hosts.web1] (did you mean "address"?)',
  },
  {
    name: 'position found past multi-line strings, nested arrays and arrays of tables',
    files: { 'hosts.toml': '[vars]\nmotd = """\n[hosts.fake]\n"""\nlist = [[1, 2], { a = "}" }]\n[[vars.items]]\nx = 1\n[[vars.items]]\nx = 2\n[hosts.web1]\nprot = 22\n' },
    message: 'hosts.toml:11:1: unknown key "prot" in [hosts.web1] (did you mean "port"?)',
  },
  {
    name: 'unknown top-level table',
    files: { 'hosts.toml': '[host.web1]\n' },
    message: 'hosts.toml:1:1: unknown key "host" at the top level (did you mean "hosts"?)',
  },
  {
    name: 'unknown key in [defaults]',
    files: { 'hosts.toml': '[defaults]\nusr = "root"\n' },
    message: 'hosts.toml:2:1: unknown key "usr" in [defaults] (did you mean "user"?)',
  },
  {
    name: 'unknown key in a group, without a close match',
    files: { 'hosts.toml': '[groups.app]\nmembers = []\n' },
    message: 'hosts.toml:2:1: unknown key "members" in [groups.app]',
  },
  {
    name: 'address in [defaults] is not a setting there',
    files: { 'hosts.toml': '[defaults]\naddress = "x"\n' },
    message: 'hosts.toml:2:1: unknown key "address" in [defaults]',
  },
  {
    name: 'port as a string',
    files: { 'hosts.toml': '[hosts.web1]\nport = "22"\n' },
    message: 'hosts.toml:2:1: port must be an integer from 1 to 65535 in [hosts.web1] (got string "22")',
  },
  {
    name: 'port out of range',
    files: { 'hosts.toml': '[defaults]\nport = 70000\n' },
    message: 'hosts.toml:2:1: port must be an integer from 1 to 65535 in [defaults] (got integer 70000)',
  },
  {
    name: 'become as a string',
    files: { 'hosts.toml': '[defaults]\nbecome = "yes"\n' },
    message: 'hosts.toml:2:1: become must be true or false in [defaults] (got string "yes")',
  },
  {
    name: 'empty user',
    files: { 'hosts.toml': '[hosts.web1]\nuser = ""\n' },
    message: 'hosts.toml:2:1: user must be a non-empty string in [hosts.web1] (got string "")',
  },
  {
    name: 'connect_timeout zero',
    files: { 'hosts.toml': '[defaults]\nconnect_timeout = 0\n' },
    message: 'hosts.toml:2:1: connect_timeout must be a positive number of seconds in [defaults] (got integer 0)',
  },
  {
    name: 'unknown transport',
    files: { 'hosts.toml': '[hosts.web1]\ntransport = "sftp"\n' },
    message: 'hosts.toml:2:1: transport must be "ssh" or "local" in [hosts.web1] (got string "sftp")',
  },
  {
    name: 'hosts that is not a table',
    files: { 'hosts.toml': 'hosts = ["web1"]\n' },
    message: 'hosts.toml:1:1: hosts must be a table at the top level (got an array)',
  },
  {
    name: 'host_key_checking off',
    files: { 'hosts.toml': '[defaults]\nhost_key_checking = "off"\n' },
    message: 'hosts.toml:2:1: host_key_checking must be "strict" or "accept-new" in [defaults] (got "off"; there is no "off": host keys are always checked, and accept-new trusts a host\'s first key)',
  },
  {
    name: 'host_key_checking false on a host',
    files: { 'hosts.toml': '[hosts.web1]\nhost_key_checking = false\n' },
    message: 'hosts.toml:2:1: host_key_checking must be "strict" or "accept-new" in [hosts.web1] (got boolean false; there is no "off": host keys are always checked, and accept-new trusts a host\'s first key)',
  },
  {
    name: 'group listing an unknown host',
    files: { 'hosts.toml': `${twoHosts}[groups.app]\nhosts = ["web1", "web3"]\n` },
    message: 'hosts.toml:4:18: unknown host "web3" in [groups.app] (did you mean "web1"?)',
  },
  {
    name: 'unknown host in a multi-line array',
    files: { 'hosts.toml': `${twoHosts}[groups.app]\nhosts = [\n  "web1",\n  "wbe2",\n]\n` },
    message: 'hosts.toml:6:3: unknown host "wbe2" in [groups.app] (did you mean "web2"?)',
  },
  {
    name: 'group hosts that are not strings',
    files: { 'hosts.toml': '[groups.app]\nhosts = [1]\n' },
    message: 'hosts.toml:2:10: hosts must list names as strings in [groups.app] (got integer 1)',
  },
  {
    name: 'unknown child group',
    files: { 'hosts.toml': '[groups.app]\nchildren = ["dbb"]\n[groups.db]\n' },
    message: 'hosts.toml:2:13: unknown child group "dbb" in [groups.app] (did you mean "db"?)',
  },
  {
    name: 'all as a child group',
    files: { 'hosts.toml': '[groups.app]\nchildren = ["all"]\n' },
    message: 'hosts.toml:2:13: "all" cannot be a child group in [groups.app]: it already contains every host',
  },
  {
    name: 'group cycle',
    files: { 'hosts.toml': '[groups.a]\nchildren = ["b"]\n[groups.b]\nchildren = ["c"]\n[groups.c]\nchildren = ["a"]\n' },
    message: 'hosts.toml:6:13: group cycle: a -> b -> c -> a',
  },
  {
    name: 'group that is its own child',
    files: { 'hosts.toml': '[groups.a]\nchildren = ["a"]\n' },
    message: 'hosts.toml:2:13: group cycle: a -> a',
  },
  {
    name: '[groups.all] listing hosts',
    files: { 'hosts.toml': '[hosts.web1]\n[groups.all]\nhosts = ["web1"]\n' },
    message: 'hosts.toml:3:1: [groups.all] cannot list hosts: "all" always contains every host',
  },
  {
    name: 'a host named all',
    files: { 'hosts.toml': '[hosts.all]\n' },
    message: 'hosts.toml:1:1: "all" is the implicit group of every host and cannot be a host name',
  },
  {
    name: 'a host name with pattern syntax',
    files: { 'hosts.toml': '[hosts."web 1"]\n' },
    message: 'hosts.toml:1:1: invalid host name "web 1": names cannot be empty, contain whitespace, commas, * ? [ ], or start with ! or &',
  },
  {
    name: 'missing identity file',
    files: { 'hosts.toml': '[defaults]\nidentity_file = "keys/id_nope"\n' },
    message: 'hosts.toml:2:1: identity_file "keys/id_nope" does not exist in [defaults] (looked for keys/id_nope)',
  },
  {
    name: 'missing identity file in a list',
    files: { 'keys/a': 'k', 'hosts.toml': '[hosts.web1]\nidentity_file = ["keys/a", "keys/b"]\n' },
    message: 'hosts.toml:2:28: identity_file "keys/b" does not exist in [hosts.web1] (looked for keys/b)',
  },
  {
    name: 'missing named ssh_config',
    files: { 'hosts.toml': '[defaults]\nssh_config = "my_ssh_config"\n' },
    message: 'hosts.toml:2:1: ssh_config "my_ssh_config" does not exist in [defaults] (looked for my_ssh_config)',
  },
  {
    name: 'secret from an unset environment variable',
    files: { 'hosts.toml': '[vars]\ngreeting = "hi"\ndb_password = { env = "IS_DB_PASSWORD" }\n' },
    message: 'hosts.toml:3:1: environment variable IS_DB_PASSWORD is not set (needed by var "db_password" in [vars])',
  },
  {
    name: 'secret from a missing file',
    files: { 'hosts.toml': '[vars]\napi_key = { file = "secrets/api_key" }\n' },
    message: 'hosts.toml:2:1: secret file "secrets/api_key" does not exist (needed by var "api_key" in [vars]; looked for secrets/api_key)',
  },
  {
    name: 'nested secret in host vars',
    files: { 'hosts.toml': '[hosts.web1]\nvars = { db = { password = { env = "NOPE" } } }\n' },
    message: 'hosts.toml:2:17: environment variable NOPE is not set (needed by var "db.password" in [hosts.web1])',
  },
  {
    name: 'secret inside an array in group vars',
    files: { 'hosts.toml': '[groups.app.vars]\ntokens = ["a", { env = "NOPE" }]\n' },
    message: 'hosts.toml:2:16: environment variable NOPE is not set (needed by var "tokens[1]" in [groups.app])',
  },
  {
    name: 'secret in a group_vars file',
    files: { 'hosts.toml': '[groups.app]\n', 'group_vars/app.toml': 'x = 1\ntoken = { env = "NOPE" }\n' },
    message: 'group_vars/app.toml:2:1: environment variable NOPE is not set (needed by var "token")',
  },
  {
    name: 'syntax error in a host_vars file',
    // The column is the one @iarna/toml reports (its own caret points there too): just after the 2.
    files: { 'hosts.toml': '[hosts.web1]\n', 'host_vars/web1.toml': 'x = 1 2\n' },
    message: 'host_vars/web1.toml:1:8: TOML syntax error: Unexpected character, expected only whitespace or comments till end of line',
  },
  {
    name: 'group_vars file for no group',
    files: { 'hosts.toml': '[groups.app]\n', 'group_vars/appp.toml': 'x = 1\n' },
    message: 'group_vars/appp.toml: no group named "appp" in hosts.toml (did you mean "app"?)',
  },
  {
    name: 'host_vars file for no host',
    files: { 'hosts.toml': '[hosts.web1]\n', 'host_vars/web9.toml': 'x = 1\n' },
    message: 'host_vars/web9.toml: no host named "web9" in hosts.toml (did you mean "web1"?)',
  },
  {
    name: 'StrictHostKeyChecking no in ssh_config',
    files: { 'hosts.toml': '[defaults]\nssh_config = "ssh_config"\n[hosts.web2]\n', ssh_config: 'Host web*\n  StrictHostKeyChecking no\n' },
    message: 'ssh_config:2: StrictHostKeyChecking no is refused (host "web2"): there is no "off", host keys are always checked; use accept-new to trust a host\'s first key',
  },
  {
    name: 'Match exec in ssh_config',
    files: { 'hosts.toml': '[defaults]\nssh_config = "ssh_config"\n[hosts.web2]\n', ssh_config: 'Match host web2 exec "true"\n  User x\n' },
    message: 'ssh_config:1: Match exec is not supported (host "web2"): is-provision does not run commands while reading ssh_config; use Match host/originalhost/user/localuser, or set the value in hosts.toml',
  },
  {
    name: 'bad Port in the default ~/.ssh/config',
    // Home outside the working directory, as usual, so the path is shown from ~.
    files: { 'inv/hosts.toml': '[hosts.web2]\n', 'home/.ssh/config': '\nPort twenty-two\n' },
    options: { path: 'inv', cwd: 'inv' },
    message: '~/.ssh/config:2: Port must be an integer from 1 to 65535, got "twenty-two"',
  },
];

for (const { name, files, options, message } of cases) {
  test(`error: ${name}`, async () => {
    assert.equal(await loadError(files, options), message);
  });
}

test('an InventoryError carries file, line and column apart from the message', async () => {
  const dir = await fixture({});
  const error = await load({ 'hosts.toml': '[hosts.is1]\n  adress = "x"\n' }).catch((e: unknown) => e);
  assert.ok(error instanceof InventoryError);
  assert.deepEqual([error.file, error.line, error.column], ['hosts.toml', 2, 3]);
  assert.equal(error.reason, 'unknown key "adress" in [hosts.is1] (did you mean "address"?)');
  const missing = await load({}, { path: `${dir}/nowhere` }).catch((e: unknown) => e);
  assert.ok(missing instanceof InventoryError);
  assert.match(missing.message, /nowhere: inventory not found \(give a hosts\.toml file or a directory holding one\)$/);
});

test('a directory without hosts.toml is named as such', async () => {
  assert.match(await loadError({ 'other.toml': '' }), /: directory has no hosts\.toml$/);
});

test('edit distance counts a swap as one edit and suggests only plausible names', () => {
  assert.equal(editDistance('prot', 'port'), 1);
  assert.equal(editDistance('adress', 'address'), 1);
  assert.equal(closest('usr', ['user', 'port']), 'user');
  assert.equal(closest('zzz', ['user', 'port']), undefined);
});
