import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { InventoryError } from '../../src/inventory/errors.js';
import { SshConfig, parseProxyJump, parseSshConfig, type SshConfigQuery, type SshConfigResult } from '../../src/inventory/ssh-config.js';
import { load, loadError } from './helpers.js';

const HOME = '/home/me';

/** An SshConfig over in-memory files; the main one is ~/.ssh/config. */
function config(files: Record<string, string>): SshConfig {
  const reader = {
    readFile: (file: string) => files[file],
    readDir: (dir: string) => {
      const names = Object.keys(files)
        .filter((file) => path.dirname(file) === dir)
        .map((file) => path.basename(file));
      return names.length > 0 ? names : undefined;
    },
  };
  return new SshConfig(`${HOME}/.ssh/config`, { reader, home: HOME, localUser: 'me' });
}

const resolve = (text: string, query: SshConfigQuery | string, extra: Record<string, string> = {}): SshConfigResult =>
  config({ [`${HOME}/.ssh/config`]: text, ...extra }).resolve(typeof query === 'string' ? { host: query } : query);

const cases: { name: string; text: string; host: string | SshConfigQuery; expect: Partial<SshConfigResult>; files?: Record<string, string> }[] = [
  { name: 'nothing set', text: '', host: 'web', expect: { hostName: 'web', user: 'me', port: 22, identityFiles: [], proxyJump: [] } },
  { name: 'Host wildcard', text: 'Host web*\n  HostName 10.0.0.1\n', host: 'web7', expect: { hostName: '10.0.0.1' } },
  { name: 'Host ? wildcard does not match two characters', text: 'Host web?\n  User q\n', host: 'web10', expect: { user: 'me' } },
  { name: 'Host negation vetoes', text: 'Host *.example.com !bad.example.com\n  User ex\nHost *\n  User other\n', host: 'bad.example.com', expect: { user: 'other' } },
  { name: 'Host with several patterns', text: 'Host a b c\n  User abc\n', host: 'b', expect: { user: 'abc' } },
  { name: 'Host matches case-insensitively', text: 'Host WEB\n  User up\n', host: 'web', expect: { user: 'up' } },
  { name: 'first value wins', text: 'Host web\n  User first\n  User again\nHost *\n  User second\n', host: 'web', expect: { user: 'first' } },
  { name: 'lines before any Host apply to all', text: 'User everyone\nHost web\n  User web\n', host: 'web', expect: { user: 'everyone' } },
  { name: 'keywords are case-insensitive, key=value, quotes, comments', text: 'HOST web\n  hostNAME=10.0.0.9\n  User "john doe" # trailing\n  # comment\n  Port = 2222\n', host: 'web', expect: { hostName: '10.0.0.9', user: 'john doe', port: 2222 } },
  { name: 'unknown keywords are ignored', text: 'Host *\n  ForwardAgent yes\n  SendEnv LANG\n', host: 'web', expect: { user: 'me' } },
  { name: 'IdentityFile accumulates in order', text: 'Host web\n  IdentityFile ~/.ssh/a\nHost *\n  IdentityFile /keys/b\n', host: 'web', expect: { identityFiles: [`${HOME}/.ssh/a`, '/keys/b'] } },
  {
    name: 'tokens in IdentityFile and UserKnownHostsFile use final values',
    text: 'Host web\n  HostName %h.internal\n  User deploy\n  Port 2200\n  IdentityFile ~/.ssh/%r@%h:%p\n  IdentityFile %d/%u-%n-100%%\n  UserKnownHostsFile ~/kh/%h other_file\n',
    host: 'web',
    expect: { hostName: 'web.internal', identityFiles: [`${HOME}/.ssh/deploy@web.internal:2200`, `${HOME}/me-web-100%`], knownHostsFile: `${HOME}/kh/web.internal` },
  },
  { name: 'Match host sees the HostName so far', text: 'Host web\n  HostName 10.1.2.3\nMatch host 10.1.*\n  User net\n', host: 'web', expect: { user: 'net' } },
  { name: 'Match originalhost sees the name given', text: 'Host web\n  HostName 10.1.2.3\nMatch originalhost web\n  Port 2022\n', host: 'web', expect: { port: 2022 } },
  { name: 'Match user sees the user so far', text: 'Host web\n  User deploy\nMatch user deploy\n  Port 2023\n', host: 'web', expect: { port: 2023 } },
  { name: 'Match user falls back to defaultUser', text: 'Match user root\n  Port 2024\n', host: { host: 'web', defaultUser: 'root' }, expect: { port: 2024, user: 'root' } },
  { name: 'Match localuser', text: 'Match localuser me\n  User mine\n', host: 'web', expect: { user: 'mine' } },
  { name: 'Match all', text: 'Host nope\n  User a\nMatch all\n  User b\n', host: 'web', expect: { user: 'b' } },
  { name: 'Match with negated criterion and pattern list', text: 'Match !host db*,cache host web*,api*\n  User app\n', host: 'api1', expect: { user: 'app' } },
  { name: 'Match needs every criterion', text: 'Match host web user nobody\n  User x\n', host: 'web', expect: { user: 'me' } },
  { name: 'Match exec is not run after a failed criterion', text: 'Match host other exec "false"\n  User x\n', host: 'web', expect: { user: 'me' } },
  {
    name: 'Include is relative to ~/.ssh, globs sorted, conditional inside Host',
    text: 'Host web\n  Include conf.d/*.conf\n  Port 2000\nHost db\n  Include never.conf\n',
    files: { [`${HOME}/.ssh/conf.d/b.conf`]: 'User b\n', [`${HOME}/.ssh/conf.d/a.conf`]: 'User a\nHost other\n  Port 9\n', [`${HOME}/.ssh/conf.d/.hidden.conf`]: 'User h\n' },
    host: 'web',
    // The included "Host other" does not switch off the rest of the including block: Port 2000 applies.
    expect: { user: 'a', port: 2000 },
  },
  { name: 'Include of a missing file is ignored', text: 'Include ~/nothing/*\nInclude /abs/missing\nUser u\n', host: 'web', expect: { user: 'u' } },
  { name: 'Include with an absolute path and ~', text: 'Include ~/shared/ssh.conf\n', files: { [`${HOME}/shared/ssh.conf`]: 'Host web\n  Port 2345\n' }, host: 'web', expect: { port: 2345 } },
  { name: 'ProxyJump with users, ports and several hops', text: 'Host web\n  ProxyJump admin@bastion:2222,hop\n', host: 'web', expect: { proxyJump: [{ host: 'bastion', user: 'admin', port: 2222 }, { host: 'hop' }] } },
  { name: 'ProxyJump none', text: 'Host web\n  ProxyJump none\nHost *\n  ProxyJump bastion\n', host: 'web', expect: { proxyJump: [] } },
  { name: 'ProxyCommand none excludes a later ProxyJump', text: 'Host web\n  ProxyCommand none\nHost *\n  ProxyJump bastion\n', host: 'web', expect: { proxyJump: [] } },
  { name: 'StrictHostKeyChecking accept-new', text: 'StrictHostKeyChecking accept-new\n', host: 'web', expect: { hostKeyChecking: 'accept-new' } },
  { name: 'StrictHostKeyChecking ask is strict', text: 'StrictHostKeyChecking ask\n', host: 'web', expect: { hostKeyChecking: 'strict' } },
  { name: 'ConnectTimeout', text: 'ConnectTimeout 7\n', host: 'web', expect: { connectTimeout: 7 } },
  {
    name: 'preset values win and suppress the file’s, even refused ones',
    text: 'Host web\n  User file\n  Port 1\n  StrictHostKeyChecking no\n  IdentityFile %x\nMatch host 10.*\n  ConnectTimeout 3\n',
    host: { host: 'web', preset: { user: 'cli', port: 2, hostKeyChecking: 'strict', hostName: '10.0.0.1', identityFiles: ['/k'] } },
    expect: { user: 'cli', port: 2, hostName: '10.0.0.1', identityFiles: [], connectTimeout: 3 },
  },
];

for (const { name, text, host, expect, files } of cases) {
  test(`ssh_config: ${name}`, () => {
    const result = resolve(text, host, files);
    for (const [key, value] of Object.entries(expect)) assert.deepEqual(result[key as keyof SshConfigResult], value, key);
  });
}

const errors: { name: string; text: string; message: string; host?: string }[] = [
  { name: 'StrictHostKeyChecking off', text: 'Host *\n  StrictHostKeyChecking off\n', message: `${HOME}/.ssh/config:2: StrictHostKeyChecking off is refused (host "web"): there is no "off", host keys are always checked; use accept-new to trust a host's first key` },
  { name: 'bad StrictHostKeyChecking', text: 'StrictHostKeyChecking maybe\n', message: `${HOME}/.ssh/config:1: StrictHostKeyChecking must be yes, ask or accept-new, got "maybe"` },
  { name: 'Match exec', text: '\nMatch exec "test -f x"\n', message: `${HOME}/.ssh/config:2: Match exec is not supported (host "web"): is-provision does not run commands while reading ssh_config; use Match host/originalhost/user/localuser, or set the value in hosts.toml` },
  { name: 'unsupported Match criterion', text: 'Match tagged x\n', message: `${HOME}/.ssh/config:1: unsupported Match criterion "tagged" (supported: all, host, originalhost, user, localuser)` },
  { name: 'Match without criteria', text: 'Match\n', message: `${HOME}/.ssh/config:1: Match needs criteria (e.g. "Match host web*" or "Match all")` },
  { name: 'Match criterion without argument', text: 'Match host\n', message: `${HOME}/.ssh/config:1: Match host needs an argument` },
  { name: 'unknown token', text: 'IdentityFile ~/.ssh/%C\n', message: `${HOME}/.ssh/config:1: unsupported token %C in IdentityFile` },
  { name: 'bad port', text: 'Port 0\n', message: `${HOME}/.ssh/config:1: Port must be an integer from 1 to 65535, got "0"` },
  { name: 'bad ProxyJump', text: 'ProxyJump a@@b\n', message: `${HOME}/.ssh/config:1: bad ProxyJump "a@@b" (expected [user@]host[:port], comma-separated, or none)` },
  { name: 'ProxyCommand', text: 'ProxyCommand ssh -W %h:%p bastion\n', message: `${HOME}/.ssh/config:1: ProxyCommand is not supported (host "web"); use ProxyJump` },
  { name: 'unterminated quote', text: 'User "john\n', message: `${HOME}/.ssh/config:1: unterminated quote` },
  { name: 'Include loop', text: 'Include config\n', message: `${HOME}/.ssh/config:1: Include nested too deeply (does a file include itself?)` },
];

for (const { name, text, message, host } of errors) {
  test(`ssh_config error: ${name}`, () => {
    assert.throws(() => resolve(text, host ?? 'web'), (error: unknown) => error instanceof InventoryError && error.message === message);
  });
}

test('parseSshConfig splits keywords and arguments', () => {
  assert.deepEqual(parseSshConfig('Host a b\n\tIdentityFile="/x y/z"\n  Foo bar\\ baz #c\n'), [
    { keyword: 'host', args: ['a', 'b'], line: 1 },
    { keyword: 'identityfile', args: ['/x y/z'], line: 2 },
    { keyword: 'foo', args: ['bar baz'], line: 3 },
  ]);
});

test('parseProxyJump forms', () => {
  assert.deepEqual(parseProxyJump('ssh://u@[2001:db8::1]:2200,h'), [{ host: '2001:db8::1', user: 'u', port: 2200 }, { host: 'h' }]);
  assert.deepEqual(parseProxyJump('NONE'), []);
  assert.equal(parseProxyJump('h:99999'), undefined);
});

test('jump hosts are resolved through ssh_config; only the first hop follows its own ProxyJump', async () => {
  const inventory = await load({
    'hosts.toml': '[defaults]\nuser = "ops"\n[hosts.target]\n',
    'home/.ssh/config': [
      'Host target\n  ProxyJump edge,inner',
      'Host edge\n  HostName 203.0.113.1\n  ProxyJump outer',
      'Host inner\n  HostName 10.0.0.1\n  User in\n  ProxyJump ignored',
      'Host outer\n  Port 2200',
    ].join('\n'),
  });
  const jumps = inventory.hosts[0]?.connection.proxyJump.map((j) => `${j.user}@${j.address}:${j.port}`);
  assert.deepEqual(jumps, ['ops@outer:2200', 'ops@203.0.113.1:22', 'in@10.0.0.1:22']);
  assert.ok(inventory.hosts[0]?.connection.proxyJump.every((j) => j.proxyJump.length === 0 && j.transport === 'ssh'));
});

test('a ProxyJump loop is an error', async () => {
  const message = await loadError({ 'hosts.toml': '[hosts.a]\n', 'home/.ssh/config': 'Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n' });
  assert.equal(message, 'home/.ssh/config: ProxyJump loop for host "a": a -> b -> a');
});
