import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createCommand, decideX509, normalizeAltName, parseSubject, subjectArgument, subjectKey, x509, x509Module, type X509Options,
} from '../../src/modules/x509.js';
import { TaskFailure, type Decision } from '../../src/modules/decision.js';
import type { X509Fact } from '../../src/facts/x509.js';
import { applyHere, context, decideHere, factsHere } from './helpers.js';

const O: X509Options = { key: '/etc/nginx/ssl/is.key', cert: '/etc/nginx/ssl/is.crt', subject: '/CN=is.wso2.com', altNames: ['DNS:is.wso2.com'] };
const HASH = 'a'.repeat(64);
const HOST = { host: context().host };

function valid(cert: Partial<X509Fact['cert']> = {}, key: Partial<X509Fact['key']> = {}, extra: Partial<X509Fact> = {}): X509Fact {
  return {
    openssl: true,
    certDir: true,
    keyDir: true,
    cert: {
      type: 'file',
      mode: '0644',
      owner: 'root',
      group: 'root',
      valid: true,
      subject: [['CN', 'is.wso2.com']],
      altNames: ['DNS:is.wso2.com'],
      notAfter: 'Mar  8 14:10:52 2029 GMT',
      expired: false,
      expiresSoon: false,
      bits: 2048,
      publicKey: HASH,
      ...cert,
    },
    key: { type: 'file', mode: '0600', owner: 'root', group: 'root', publicKey: HASH, ...key },
    ...extra,
  };
}

const NONE: X509Fact = { openssl: true, certDir: true, keyDir: true, cert: { type: 'absent' }, key: { type: 'absent' } };

const CREATE = [
  'set -e',
  'key=/etc/nginx/ssl/is.key',
  'cert=/etc/nginx/ssl/is.crt',
  'umask 077',
  'kt=$(mktemp "$(dirname -- "$key")/.is-provision.XXXXXXXX")',
  'ct=$(mktemp "$(dirname -- "$cert")/.is-provision.XXXXXXXX")',
  `trap 'rm -f -- "$kt" "$ct"' EXIT`,
  `if ! err=$(openssl req -x509 -batch -utf8 -newkey rsa:2048 -nodes -keyout "$kt" -out "$ct" -days 365 -subj /CN=is.wso2.com -addext subjectAltName=DNS:is.wso2.com 2>&1 </dev/null); then printf '%s\\n' "$err" | grep -v '^[-.+*]*$' >&2; exit 1; fi`,
  'chmod 0600 "$kt"',
  'chmod 0644 "$ct"',
  'mv -f -- "$kt" "$key"',
  'mv -f -- "$ct" "$cert"',
  'trap - EXIT',
].join('\n');

const REPLACE = 'would replace /etc/nginx/ssl/is.crt and /etc/nginx/ssl/is.key: ';

interface Case {
  name: string;
  options?: Partial<X509Options>;
  fact: X509Fact;
  kind: 'noop' | 'change';
  reason: string;
  commands?: string[];
}

const CASES: Case[] = [
  {
    name: 'nothing there: both made',
    fact: NONE,
    kind: 'change',
    reason: 'would create /etc/nginx/ssl/is.crt and /etc/nginx/ssl/is.key: /etc/nginx/ssl/is.crt does not exist; /etc/nginx/ssl/is.key does not exist',
    commands: [CREATE],
  },
  {
    name: 'everything matches',
    fact: valid(),
    kind: 'noop',
    reason: '/etc/nginx/ssl/is.crt matches: subject /CN=is.wso2.com, altNames DNS:is.wso2.com, 2048-bit key /etc/nginx/ssl/is.key, valid until 2029-03-08 (more than 30 days)',
  },
  {
    name: 'the RFC 4514 form of the same subject matches',
    options: { subject: 'CN=is.wso2.com,O=WSO2' },
    fact: valid({ subject: [['O', 'WSO2'], ['CN', 'is.wso2.com']] }),
    kind: 'noop',
    reason: '/etc/nginx/ssl/is.crt matches: subject /O=WSO2/CN=is.wso2.com, altNames DNS:is.wso2.com, 2048-bit key /etc/nginx/ssl/is.key, valid until 2029-03-08 (more than 30 days)',
  },
  {
    name: 'altNames compared as openssl prints them: bare names, case, IPv6',
    options: { altNames: ['IS.wso2.com', '::1', '10.0.0.5'] },
    fact: valid({ altNames: ['IP Address:10.0.0.5', 'DNS:is.wso2.com', 'IP Address:0:0:0:0:0:0:0:1'] }),
    kind: 'noop',
    reason: '/etc/nginx/ssl/is.crt matches: subject /CN=is.wso2.com, altNames IP:10.0.0.5, DNS:is.wso2.com, IP:0:0:0:0:0:0:0:1, 2048-bit key /etc/nginx/ssl/is.key, valid until 2029-03-08 (more than 30 days)',
  },
  { name: 'another subject', fact: valid({ subject: [['CN', 'localhost']] }), kind: 'change', reason: `${REPLACE}subject /CN=localhost → /CN=is.wso2.com`, commands: [CREATE] },
  { name: 'the key is not the cert\'s', fact: valid({}, { publicKey: 'b'.repeat(64) }), kind: 'change', reason: `${REPLACE}/etc/nginx/ssl/is.key does not match /etc/nginx/ssl/is.crt` },
  { name: 'other altNames', fact: valid({ altNames: [] }), kind: 'change', reason: `${REPLACE}altNames none → DNS:is.wso2.com` },
  { name: 'another key size', options: { bits: 4096 }, fact: valid(), kind: 'change', reason: `${REPLACE}key size 2048 → 4096 bits` },
  { name: 'expired', fact: valid({ expired: true, expiresSoon: true, notAfter: 'Jan  2 00:00:00 2020 GMT' }), kind: 'change', reason: `${REPLACE}/etc/nginx/ssl/is.crt expired on 2020-01-02` },
  {
    name: 'expires within the renewal window',
    options: { renewBeforeDays: 60 },
    fact: valid({ expiresSoon: true }),
    kind: 'change',
    reason: `${REPLACE}/etc/nginx/ssl/is.crt expires on 2029-03-08, within 60 days`,
  },
  {
    name: 'several reasons at once',
    fact: valid({ subject: [['CN', 'x']], expiresSoon: true }, { publicKey: 'c'.repeat(64) }),
    kind: 'change',
    reason: `${REPLACE}/etc/nginx/ssl/is.key does not match /etc/nginx/ssl/is.crt; subject /CN=x → /CN=is.wso2.com; /etc/nginx/ssl/is.crt expires on 2029-03-08, within 30 days`,
  },
  { name: 'not a certificate', fact: valid({ valid: false }), kind: 'change', reason: `${REPLACE}/etc/nginx/ssl/is.crt is not a certificate openssl can read` },
  {
    name: 'an encrypted key (openssl cannot read it without a passphrase)',
    fact: valid({}, { publicKey: undefined }),
    kind: 'change',
    reason: `${REPLACE}/etc/nginx/ssl/is.key is not an unencrypted private key openssl can read`,
  },
  { name: 'the key is missing', fact: valid({}, { type: 'absent', publicKey: undefined }), kind: 'change', reason: `${REPLACE}/etc/nginx/ssl/is.key does not exist` },
  {
    name: 'modes drifted: put back without a new key',
    fact: valid({ mode: '0600' }, { mode: '0644' }),
    kind: 'change',
    reason: '/etc/nginx/ssl/is.key mode 0644 → 0600; /etc/nginx/ssl/is.crt mode 0600 → 0644',
    commands: ['chmod 0600 -- /etc/nginx/ssl/is.key', 'chmod 0644 -- /etc/nginx/ssl/is.crt'],
  },
  {
    name: 'owner and group',
    options: { owner: 'www-data', group: 'ssl-cert' },
    fact: valid({}, { group: 'ssl-cert' }),
    kind: 'change',
    reason: '/etc/nginx/ssl/is.key owner root → www-data; /etc/nginx/ssl/is.crt owner root → www-data, group root → ssl-cert',
    commands: ['chown -- www-data /etc/nginx/ssl/is.key', 'chown -- www-data:ssl-cert /etc/nginx/ssl/is.crt'],
  },
  {
    name: 'a directory an earlier task makes, in a dry-run',
    fact: { ...NONE, certDir: false, keyDir: false, planned: '"ssl dir"' },
    kind: 'change',
    reason: 'would create /etc/nginx/ssl/is.crt and /etc/nginx/ssl/is.key: /etc/nginx/ssl/is.crt does not exist; /etc/nginx/ssl/is.key does not exist (as "ssl dir" leaves it)',
  },
];

for (const c of CASES) {
  test(`x509 decide: ${c.name}`, () => {
    const options = { ...O, ...c.options };
    const decision = decideX509(options, c.fact, HOST);
    assert.equal(decision.kind, c.kind, decision.reason);
    assert.equal(decision.reason, c.reason);
    if (decision.kind === 'noop') return;
    if (c.commands) assert.deepEqual(decision.steps.map((s) => (s.kind === 'exec' ? s.command.text : s)), c.commands);
    assert.deepEqual(decision.effects, [
      { kind: 'path', path: options.key, state: 'file', mode: '0600', ...(options.owner ? { owner: options.owner } : {}), ...(options.group ? { group: options.group } : {}) },
      { kind: 'path', path: options.cert, state: 'file', mode: '0644', ...(options.owner ? { owner: options.owner } : {}), ...(options.group ? { group: options.group } : {}) },
    ]);
  });
}

const FAILURES: { name: string; fact: X509Fact; message: string }[] = [
  { name: 'no openssl', fact: { ...NONE, openssl: false }, message: 'openssl is not installed on web1: install it first (package openssl)' },
  { name: 'a key the login user cannot read', fact: valid({}, { unreadable: true, publicKey: undefined }), message: "/etc/nginx/ssl/is.key cannot be read by web1's login user: run the task with become: true" },
  { name: 'no directory', fact: { ...NONE, keyDir: false }, message: 'cannot create /etc/nginx/ssl/is.key: directory /etc/nginx/ssl does not exist' },
];

for (const c of FAILURES) {
  test(`x509 decide fails: ${c.name}`, () => {
    assert.throws(() => decideX509(O, c.fact, HOST), (error: unknown) => {
      assert.ok(error instanceof TaskFailure);
      assert.equal(error.message, c.message);
      return true;
    });
  });
}

test('x509 create command: owner, bits, days, an RFC 4514 subject with escapes, quoted paths', () => {
  const text = createCommand({ key: "/etc/a b/it's.key", cert: '/etc/c.crt', subject: 'CN=is.wso2.com,O=WSO2\\, Inc.,OU=a/b+c', bits: 4096, days: 825, owner: 'www-data', group: 'ssl-cert', altNames: ['IP:10.0.0.5'] }).text;
  assert.ok(text.includes(`key='/etc/a b/it'\\''s.key'\n`));
  assert.ok(text.includes(`-newkey rsa:4096 -nodes -keyout "$kt" -out "$ct" -days 825 -subj '/OU=a\\/b\\+c/O=WSO2, Inc./CN=is.wso2.com' -addext subjectAltName=IP:10.0.0.5 `));
  assert.ok(text.includes('chown -- www-data:ssl-cert "$kt" "$ct"\n'));
  // The key is made under umask 077, before anything is written.
  assert.ok(text.indexOf('umask 077') < text.indexOf('mktemp'));
});

test('subjects: both forms, long names, escapes, order and case', () => {
  assert.deepEqual(parseSubject('/CN=is.wso2.com/O=WSO2'), [['CN', 'is.wso2.com'], ['O', 'WSO2']]);
  assert.deepEqual(parseSubject('CN=is.wso2.com, O=WSO2'), [['O', 'WSO2'], ['CN', 'is.wso2.com']]);
  assert.deepEqual(parseSubject('CN=\\C3\\A9t\\C3\\A9,O=A\\, B'), [['O', 'A, B'], ['CN', 'été']]);
  assert.deepEqual(parseSubject('/OU=a\\/b\\+c'), [['OU', 'a/b+c']]);
  const key = subjectKey(parseSubject('/CN=is.wso2.com/O=WSO2'));
  for (const same of ['CN=is.wso2.com,O=WSO2', 'O=WSO2,CN=is.wso2.com', '/O=WSO2/CN=is.wso2.com', '/commonName=is.wso2.com/organizationName=WSO2', 'cn=is.wso2.com,o=WSO2']) {
    assert.equal(subjectKey(parseSubject(same)), key, same);
  }
  assert.notEqual(subjectKey(parseSubject('/CN=IS.wso2.com/O=WSO2')), key);
  assert.equal(subjectArgument([['OU', 'a/b+c\\d'], ['CN', 'x']]), '/OU=a\\/b\\+c\\\\d/CN=x');
  assert.throws(() => parseSubject('CN'), /not TYPE=value/);
});

test('altNames: typed, bare, IPv4, IPv6 in openssl\'s form', () => {
  assert.equal(normalizeAltName('DNS:IS.wso2.com'), 'DNS:is.wso2.com');
  assert.equal(normalizeAltName('is.wso2.com'), 'DNS:is.wso2.com');
  assert.equal(normalizeAltName('10.0.0.5'), 'IP:10.0.0.5');
  assert.equal(normalizeAltName('ip:fe80::abcd:1'), 'IP:FE80:0:0:0:0:0:ABCD:1');
  assert.equal(normalizeAltName('::ffff:1.2.3.4'), 'IP:0:0:0:0:0:FFFF:102:304');
  assert.equal(normalizeAltName('email:A@B.c'), 'email:A@B.c');
  assert.equal(normalizeAltName('URI:https://x/y'), 'URI:https://x/y');
});

const REJECTED: { name: string; options: Record<string, unknown>; message: RegExp }[] = [
  { name: 'a relative key', options: { ...O, key: 'is.key' }, message: /key must be an absolute path/ },
  { name: 'key and cert the same file', options: { ...O, key: O.cert }, message: /different files/ },
  { name: 'zero days', options: { ...O, days: 0 }, message: /days must be a whole number from 1/ },
  { name: 'a small key', options: { ...O, bits: 512 }, message: /bits must be a whole number from 1024/ },
  { name: 'a renewal window as long as the validity', options: { ...O, days: 1 }, message: /renewBeforeDays \(30\) must be less than days \(1\)/ },
  { name: 'a subject without =', options: { ...O, subject: 'is.wso2.com' }, message: /not TYPE=value/ },
  { name: 'an altName with a comma', options: { ...O, altNames: ['DNS:a,DNS:b'] }, message: /without commas/ },
  { name: 'a bad IP', options: { ...O, altNames: ['IP:10.0.0'] }, message: /not an IP address/ },
  { name: 'an unknown option', options: { ...O, mode: '0600' }, message: /unknown option "mode"/ },
];

for (const c of REJECTED) {
  test(`x509() rejects ${c.name}`, () => {
    assert.throws(() => x509(c.options as unknown as X509Options), c.message);
  });
}

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = realpathSync(mkdtempSync(path.join(tmpdir(), 'is-provision-x509-')));
  made.push(d);
  return d;
}

const modeOf = (p: string): string => (statSync(p).mode & 0o7777).toString(8).padStart(4, '0');
const leftovers = (d: string): string[] => readdirSync(d).filter((n) => n.startsWith('.is-provision.'));
const subjectOf = (cert: string): string => execFileSync('openssl', ['x509', '-in', cert, '-noout', '-subject', '-nameopt', 'RFC2253']).toString().trim();

function expect(decision: Decision, kind: 'noop' | 'change', reason?: RegExp): void {
  assert.equal(decision.kind, kind, decision.reason);
  if (reason) assert.match(decision.reason, reason);
}

function files(d: string, extra: Partial<X509Options> = {}): X509Options {
  return { key: path.join(d, 'is.key'), cert: path.join(d, 'is.crt'), subject: '/CN=is.wso2.com/O=WSO2', altNames: ['is.wso2.com', '127.0.0.1'], ...extra };
}

test('x509 for real: create, then noop; modes 0600 and 0644; no temp files left', () => {
  const d = tempDir();
  const o = files(d);
  const first = decideHere(x509Module, o);
  expect(first, 'change', /^would create /);
  applyHere(first);
  assert.equal(modeOf(o.key), '0600');
  assert.equal(modeOf(o.cert), '0644');
  assert.deepEqual(leftovers(d), []);
  assert.equal(subjectOf(o.cert), 'subject=O=WSO2,CN=is.wso2.com');
  expect(decideHere(x509Module, o), 'noop', /matches: subject \/CN=is\.wso2\.com\/O=WSO2, altNames DNS:is\.wso2\.com, IP:127\.0\.0\.1, 2048-bit key/);
  // The other form of the same subject matches the same cert.
  expect(decideHere(x509Module, { ...o, subject: 'O=WSO2,CN=is.wso2.com' }), 'noop');
});

test('x509 for real: a new subject makes a new key and cert', () => {
  const d = tempDir();
  const o = files(d);
  applyHere(decideHere(x509Module, o));
  const oldKey = readFileSync(o.key);
  const changed = { ...o, subject: '/CN=login.wso2.com' };
  const decision = decideHere(x509Module, changed);
  expect(decision, 'change', /subject \/CN=is\.wso2\.com\/O=WSO2 → \/CN=login\.wso2\.com$/);
  applyHere(decision);
  assert.equal(subjectOf(o.cert), 'subject=CN=login.wso2.com');
  assert.notDeepEqual(readFileSync(o.key), oldKey);
  expect(decideHere(x509Module, changed), 'noop');
});

test('x509 for real: a cert that expires within renewBeforeDays is renewed', () => {
  const d = tempDir();
  const o = files(d);
  // A one-day cert; the builder refuses days: 1 with the default window, so the step is made directly.
  applyHere(decideX509({ ...o, days: 1, renewBeforeDays: 0 }, factsHere(x509Module, o).x509 as X509Fact, HOST));
  expect(decideHere(x509Module, { ...o, days: 1, renewBeforeDays: 0 }), 'noop');
  const decision = decideHere(x509Module, o);
  expect(decision, 'change', /is\.crt expires on \d{4}-\d\d-\d\d, within 30 days$/);
  applyHere(decision);
  expect(decideHere(x509Module, o), 'noop');
});

test('x509 for real: an expired cert is replaced', () => {
  const d = tempDir();
  const o = files(d, { subject: '/CN=old.example', altNames: [] });
  // openssl req cannot backdate; openssl ca can.
  execFileSync('sh', ['-c', `set -e; cd "$1"
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out is.key
openssl req -new -key is.key -subj /CN=old.example -out r.csr
touch index.txt; echo 01 > serial
printf '[ca]\\ndefault_ca = d\\n[d]\\ndatabase = index.txt\\nnew_certs_dir = .\\nserial = serial\\ndefault_md = sha256\\npolicy = p\\n[p]\\ncommonName = supplied\\n' > ca.cnf
openssl ca -batch -notext -config ca.cnf -selfsign -keyfile is.key -in r.csr -out is.crt -startdate 20200101000000Z -enddate 20200102000000Z 2>/dev/null
chmod 0644 is.crt`, 'sh', d]);
  const decision = decideHere(x509Module, o);
  expect(decision, 'change', /: \S+is\.crt expired on 2020-01-02$/);
  applyHere(decision);
  expect(decideHere(x509Module, o), 'noop');
});

test('x509 for real: a key that does not match the cert is replaced with the cert', () => {
  const d = tempDir();
  const o = files(d);
  applyHere(decideHere(x509Module, o));
  execFileSync('openssl', ['genpkey', '-quiet', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', o.key]);
  const decision = decideHere(x509Module, o);
  expect(decision, 'change', /is\.key does not match \S+is\.crt$/);
  applyHere(decision);
  expect(decideHere(x509Module, o), 'noop');
});

test('x509 for real: a mode that drifted is put back, the key kept', () => {
  const d = tempDir();
  const o = files(d);
  applyHere(decideHere(x509Module, o));
  const key = readFileSync(o.key);
  chmodSync(o.key, 0o644);
  const decision = decideHere(x509Module, o);
  expect(decision, 'change', /is\.key mode 0644 → 0600$/);
  applyHere(decision);
  assert.equal(modeOf(o.key), '0600');
  assert.deepEqual(readFileSync(o.key), key);
  expect(decideHere(x509Module, o), 'noop');
});

test('x509 for real: owner and group for both files', () => {
  const d = tempDir();
  const o = files(d, { owner: 'nobody', group: 'nogroup' });
  applyHere(decideHere(x509Module, o));
  const fact = factsHere(x509Module, o).x509 as X509Fact;
  assert.deepEqual([fact.key.owner, fact.key.group, fact.cert.owner, fact.cert.group], ['nobody', 'nogroup', 'nobody', 'nogroup']);
  expect(decideHere(x509Module, o), 'noop');
});

test('x509 for real: openssl failing leaves the old files and no temp files, and says why', () => {
  const d = tempDir();
  const o = files(d);
  applyHere(decideHere(x509Module, o));
  const before = [readFileSync(o.key), readFileSync(o.cert)];
  const decision = decideHere(x509Module, { ...o, subject: '/C=USA/CN=is.wso2.com' });
  assert.throws(() => applyHere(decision), (error: unknown) => {
    const message = (error as Error).message;
    assert.match(message, /string too long/);
    assert.doesNotMatch(message.split('\n')[0]!, /\.\.\.\+/);
    return true;
  });
  assert.deepEqual([readFileSync(o.key), readFileSync(o.cert)], before);
  assert.deepEqual(leftovers(d), []);
});

test('x509 for real: the cert file in place of a non-cert is replaced', () => {
  const d = tempDir();
  const o = files(d);
  writeFileSync(o.cert, 'junk\n');
  writeFileSync(o.key, 'junk\n');
  const decision = decideHere(x509Module, o);
  expect(decision, 'change', /is not a certificate openssl can read; \S+ is not an unencrypted private key openssl can read$/);
  applyHere(decision);
  expect(decideHere(x509Module, o), 'noop');
});
