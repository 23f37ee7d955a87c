import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  checkHostKey,
  globMatch,
  knownHostsLine,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
  type HostKeyCheck,
} from '../../src/transport/known-hosts.js';

/** A fake public key in SSH wire format, so types and bytes look like the real thing. */
function fakeKey(type: string): string {
  const name = Buffer.from(type);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(name.length);
  return Buffer.concat([length, name, randomBytes(32)]).toString('base64');
}

/** A hashed host field as `ssh-keygen -H` writes it. */
function hashed(host: string, salt = randomBytes(20)): string {
  const mac = createHmac('sha1', salt).update(host).digest();
  return `|1|${salt.toString('base64')}|${mac.toString('base64')}`;
}

const ED = 'ssh-ed25519';
const K1 = fakeKey(ED);
const K2 = fakeKey(ED);
const RSA = fakeKey('ssh-rsa');
const CA = fakeKey(ED);

interface Case {
  name: string;
  lines: string[];
  host: string;
  port?: number;
  key?: string;
  expect: HostKeyCheck;
}

const none: HostKeyCheck = { kind: 'unknown', otherKeys: [] };

const cases: Case[] = [
  { name: 'plain host', lines: [`web1.example.com ${ED} ${K1}`], host: 'web1.example.com', expect: { kind: 'match', line: 1 } },
  { name: 'host names compare case-insensitively', lines: [`WEB1.Example.com ${ED} ${K1}`], host: 'web1.example.com', expect: { kind: 'match', line: 1 } },
  { name: 'comma-separated list', lines: [`web1.example.com,10.0.0.5 ${ED} ${K1} root@web1`], host: '10.0.0.5', expect: { kind: 'match', line: 1 } },
  { name: 'no entry at all', lines: [`other.example.com ${ED} ${K1}`], host: 'web1.example.com', expect: none },
  { name: 'empty file', lines: [], host: 'web1.example.com', expect: none },
  { name: '[host]:port for a non-22 port', lines: [`[10.0.0.5]:2222 ${ED} ${K1}`], host: '10.0.0.5', port: 2222, expect: { kind: 'match', line: 1 } },
  { name: 'a [host]:port line does not cover port 22', lines: [`[10.0.0.5]:2222 ${ED} ${K1}`], host: '10.0.0.5', expect: none },
  { name: 'a plain line does not cover another port', lines: [`10.0.0.5 ${ED} ${K1}`], host: '10.0.0.5', port: 2222, expect: none },
  { name: 'port 22 is never written as [host]:22', lines: [`[10.0.0.5]:22 ${ED} ${K1}`], host: '10.0.0.5', expect: none },
  { name: 'star wildcard', lines: [`*.example.com ${ED} ${K1}`], host: 'web1.example.com', expect: { kind: 'match', line: 1 } },
  { name: 'question mark is one character', lines: [`web?.example.com ${ED} ${K1}`], host: 'web10.example.com', expect: none },
  { name: 'question mark matches', lines: [`web?.example.com ${ED} ${K1}`], host: 'web1.example.com', expect: { kind: 'match', line: 1 } },
  { name: 'wildcard inside brackets', lines: [`[*.example.com]:2222 ${ED} ${K1}`], host: 'web1.example.com', port: 2222, expect: { kind: 'match', line: 1 } },
  { name: 'negation excludes the line', lines: [`*.example.com,!db.example.com ${ED} ${K1}`], host: 'db.example.com', expect: none },
  { name: 'negation leaves the others', lines: [`*.example.com,!db.example.com ${ED} ${K1}`], host: 'web1.example.com', expect: { kind: 'match', line: 1 } },
  { name: 'negation alone matches nothing', lines: [`!db.example.com ${ED} ${K1}`], host: 'web1.example.com', expect: none },
  { name: 'hashed entry', lines: [`${hashed('web1.example.com')} ${ED} ${K1}`], host: 'web1.example.com', expect: { kind: 'match', line: 1 } },
  { name: 'hashed entry for another host', lines: [`${hashed('web2.example.com')} ${ED} ${K1}`], host: 'web1.example.com', expect: none },
  { name: 'hashed [host]:port', lines: [`${hashed('[10.0.0.5]:2222')} ${ED} ${K1}`], host: '10.0.0.5', port: 2222, expect: { kind: 'match', line: 1 } },
  { name: 'hashed changed key', lines: [`${hashed('web1.example.com')} ${ED} ${K2}`], host: 'web1.example.com', expect: { kind: 'changed', line: 1, keyType: ED } },
  {
    name: 'changed key names its line, past comments and blanks',
    lines: ['# managed by hand', '', `other.example.com ${ED} ${K1}`, `web1.example.com ${ED} ${K2}`],
    host: 'web1.example.com',
    expect: { kind: 'changed', line: 4, keyType: ED },
  },
  {
    name: 'a matching line wins over a mismatching one (several keys per host)',
    lines: [`web1.example.com ${ED} ${K2}`, `*.example.com ${ED} ${K1}`],
    host: 'web1.example.com',
    expect: { kind: 'match', line: 2 },
  },
  {
    name: 'keys of another type only: unknown, with the lines listed',
    lines: ['# rsa only', `web1.example.com ssh-rsa ${RSA}`],
    host: 'web1.example.com',
    expect: { kind: 'unknown', otherKeys: [{ line: 2, keyType: 'ssh-rsa' }] },
  },
  {
    name: 'same type mismatching beats other types',
    lines: [`web1.example.com ssh-rsa ${RSA}`, `web1.example.com ${ED} ${K2}`],
    host: 'web1.example.com',
    expect: { kind: 'changed', line: 2, keyType: ED },
  },
  {
    name: '@revoked beats a matching line',
    lines: [`web1.example.com ${ED} ${K1}`, `@revoked * ${ED} ${K1}`],
    host: 'web1.example.com',
    expect: { kind: 'revoked', line: 2 },
  },
  { name: '@revoked for another key is no match', lines: [`@revoked * ${ED} ${K2}`], host: 'web1.example.com', expect: none },
  { name: '@cert-authority lines are not host keys', lines: [`@cert-authority *.example.com ${ED} ${CA}`], host: 'web1.example.com', key: CA, expect: none },
  {
    name: 'malformed and unknown-marker lines are skipped',
    lines: ['garbage', `@future web1.example.com ${ED} ${K2}`, `|1|bad ${ED} ${K2}`, `web1.example.com 1024 35 12345`, `web1.example.com ${ED} ${K1}`],
    host: 'web1.example.com',
    expect: { kind: 'match', line: 5 },
  },
  { name: 'CRLF line endings', lines: [`# x\r`, `web1.example.com ${ED} ${K1}\r`], host: 'web1.example.com', expect: { kind: 'match', line: 2 } },
  { name: 'tabs between fields', lines: [`web1.example.com\t${ED}\t${K1}`], host: 'web1.example.com', expect: { kind: 'match', line: 1 } },
];

describe('checkHostKey', () => {
  for (const c of cases) {
    it(c.name, () => {
      const result = checkHostKey(c.lines.join('\n'), c.host, c.port ?? 22, ED, c.key ?? K1);
      assert.deepEqual(result, c.expect);
    });
  }
});

describe('globMatch', () => {
  const table: [string, string, boolean][] = [
    ['*', '', true],
    ['*', 'anything', true],
    ['a*b', 'ab', true],
    ['a*b', 'axxb', true],
    ['a*b', 'axxbc', false],
    ['*.*.com', 'a.b.com', true],
    ['??', 'ab', true],
    ['??', 'a', false],
    ['10.0.0.*', '10.0.0.17', true],
    ['10.0.0.*', '10.0.1.17', false],
    ['a**b', 'ab', true],
  ];
  for (const [pattern, text, expected] of table) {
    it(`${pattern} ~ ${JSON.stringify(text)} is ${expected}`, () => assert.equal(globMatch(pattern, text), expected));
  }
});

describe('knownHostsLine', () => {
  it('writes the plain host for port 22 and [host]:port otherwise', () => {
    assert.equal(knownHostsLine('10.0.0.5', 22, ED, K1), `10.0.0.5 ${ED} ${K1}`);
    assert.equal(knownHostsLine('10.0.0.5', 2222, ED, K1), `[10.0.0.5]:2222 ${ED} ${K1}`);
    assert.equal(knownHostsName('::1', 2222), '[::1]:2222');
  });

  it('round-trips through checkHostKey', () => {
    for (const port of [22, 2222]) {
      const text = `# existing\n${knownHostsLine('web1', port, ED, K1)}\n`;
      assert.deepEqual(checkHostKey(text, 'web1', port, ED, K1), { kind: 'match', line: 2 });
    }
  });
});

describe('parseKnownHosts and knownKeyTypes', () => {
  it('keeps markers, comments and line numbers', () => {
    const entries = parseKnownHosts(`# c\n@revoked * ${ED} ${K1}\nweb1 ${ED} ${K2} my comment here\n`);
    assert.equal(entries.length, 2);
    assert.equal(entries[0]?.marker, 'revoked');
    assert.equal(entries[0]?.line, 2);
    assert.equal(entries[1]?.comment, 'my comment here');
  });

  it('lists the key types on file for a host, markers excluded', () => {
    const text = [`web1 ssh-rsa ${RSA}`, `web1,web2 ${ED} ${K1}`, `@revoked web1 ecdsa-sha2-nistp256 ${K2}`, `web3 ${ED} ${K2}`].join('\n');
    assert.deepEqual(knownKeyTypes(text, 'web1', 22), ['ssh-rsa', ED]);
    assert.deepEqual(knownKeyTypes(text, 'web4', 22), []);
  });
});

describe('hashing agrees with ssh-keygen -H', () => {
  it('finds entries ssh-keygen hashed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kh-'));
    try {
      const file = join(dir, 'known_hosts');
      writeFileSync(file, `web1.example.com ${ED} ${K1}\n[10.0.0.5]:2222 ${ED} ${K2}\n`);
      execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
      const text = readFileSync(file, 'utf8');
      assert.match(text, /^\|1\|/);
      assert.doesNotMatch(text, /example\.com/);
      assert.deepEqual(checkHostKey(text, 'web1.example.com', 22, ED, K1), { kind: 'match', line: 1 });
      assert.deepEqual(checkHostKey(text, '10.0.0.5', 2222, ED, K2), { kind: 'match', line: 2 });
      assert.deepEqual(checkHostKey(text, '10.0.0.5', 2222, ED, K1), { kind: 'changed', line: 2, keyType: ED });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
