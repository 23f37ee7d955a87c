import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseX509, x509Fact, type X509Fact, type X509FactArgs } from '../../src/facts/x509.js';
import { EffectStore } from '../../src/facts/effects.js';
import { Unknowable } from '../../src/facts/define.js';
import { runSh } from '../shell/run-sh.js';

// Captured from OpenSSL 3.0 on Debian 12: a cert made with
// -subj '/C=LK/O=WSO2, Inc./CN=is.wso2.com/OU=a\/b\+c é' -addext 'subjectAltName=DNS:is.wso2.com,IP:10.0.0.5,IP:::1'
const VALID =
  'certdir=yes\nkeydir=yes\nopenssl=yes\ncert=file\nkey=file\ncert.stat=644 root root\nkey.stat=600 root root\ncert.valid=yes\n' +
  'cert.rdn=C=LK\ncert.rdn=O=WSO2, Inc.\ncert.rdn=CN=is.wso2.com\ncert.rdn=OU=a/b+c é\n' +
  'cert.san=DNS:is.wso2.com, IP Address:10.0.0.5, IP Address:0:0:0:0:0:0:0:1\ncert.notAfter=Mar  8 14:10:52 2029 GMT\n' +
  'cert.expired=no\ncert.soon=no\ncert.pub=d9c667a969ba0b903fc77bde0350479536c2ce78fe024eaabd95f3b050fa376d\ncert.bits=2048\n' +
  'key.pub=d9c667a969ba0b903fc77bde0350479536c2ce78fe024eaabd95f3b050fa376d\n';
// An expired cert (made with `openssl ca -startdate 20200101000000Z -enddate 20200102000000Z`).
const EXPIRED =
  'certdir=yes\nkeydir=yes\nopenssl=yes\ncert=file\nkey=file\ncert.stat=644 root root\nkey.stat=600 root root\ncert.valid=yes\n' +
  'cert.rdn=CN=old.example\ncert.notAfter=Jan  2 00:00:00 2020 GMT\ncert.expired=yes\ncert.soon=yes\n' +
  'cert.pub=bee7866156ba215a344663908214d0974afd7f8a1571b77133a45e48bc33ea61\ncert.bits=2048\n' +
  'key.pub=bee7866156ba215a344663908214d0974afd7f8a1571b77133a45e48bc33ea61\n';

const PARSED: { name: string; stdout: string; expected: X509Fact }[] = [
  {
    name: 'a valid cert: subject in cert order with commas, slashes, plus and UTF-8; altNames; hashes',
    stdout: VALID,
    expected: {
      openssl: true,
      certDir: true,
      keyDir: true,
      cert: {
        type: 'file',
        mode: '0644',
        owner: 'root',
        group: 'root',
        valid: true,
        subject: [['C', 'LK'], ['O', 'WSO2, Inc.'], ['CN', 'is.wso2.com'], ['OU', 'a/b+c é']],
        altNames: ['DNS:is.wso2.com', 'IP Address:10.0.0.5', 'IP Address:0:0:0:0:0:0:0:1'],
        notAfter: 'Mar  8 14:10:52 2029 GMT',
        expired: false,
        expiresSoon: false,
        bits: 2048,
        publicKey: 'd9c667a969ba0b903fc77bde0350479536c2ce78fe024eaabd95f3b050fa376d',
      },
      key: { type: 'file', mode: '0600', owner: 'root', group: 'root', publicKey: 'd9c667a969ba0b903fc77bde0350479536c2ce78fe024eaabd95f3b050fa376d' },
    },
  },
  {
    name: 'an expired cert without altNames',
    stdout: EXPIRED,
    expected: {
      openssl: true,
      certDir: true,
      keyDir: true,
      cert: {
        type: 'file',
        mode: '0644',
        owner: 'root',
        group: 'root',
        valid: true,
        subject: [['CN', 'old.example']],
        altNames: [],
        notAfter: 'Jan  2 00:00:00 2020 GMT',
        expired: true,
        expiresSoon: true,
        bits: 2048,
        publicKey: 'bee7866156ba215a344663908214d0974afd7f8a1571b77133a45e48bc33ea61',
      },
      key: { type: 'file', mode: '0600', owner: 'root', group: 'root', publicKey: 'bee7866156ba215a344663908214d0974afd7f8a1571b77133a45e48bc33ea61' },
    },
  },
  {
    name: 'nothing there yet',
    stdout: 'certdir=yes\nkeydir=no\nopenssl=yes\ncert=absent\nkey=absent\n',
    expected: { openssl: true, certDir: true, keyDir: false, cert: { type: 'absent' }, key: { type: 'absent' } },
  },
  {
    name: 'no openssl',
    stdout: 'certdir=yes\nkeydir=yes\nopenssl=no\ncert=absent\nkey=absent\n',
    expected: { openssl: false, certDir: true, keyDir: true, cert: { type: 'absent' }, key: { type: 'absent' } },
  },
  {
    name: 'a file that is not a cert, a key the user cannot read',
    stdout: 'certdir=yes\nkeydir=yes\nopenssl=yes\ncert=file\nkey=file\ncert.stat=644 app app\nkey.stat=600 root root\nkey.unreadable=yes\ncert.valid=no\n',
    expected: {
      openssl: true,
      certDir: true,
      keyDir: true,
      cert: { type: 'file', mode: '0644', owner: 'app', group: 'app', valid: false },
      key: { type: 'file', mode: '0600', owner: 'root', group: 'root', unreadable: true },
    },
  },
];

for (const c of PARSED) {
  test(`x509 fact parse: ${c.name}`, () => {
    assert.deepEqual(parseX509(c.stdout), c.expected);
  });
}

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function dir(): string {
  const d = realpathSync(mkdtempSync(path.join(tmpdir(), 'is-provision-x509-fact-')));
  made.push(d);
  chmodSync(d, 0o755);
  return d;
}

function factHere(args: X509FactArgs, options: { asUser?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): X509Fact {
  const command = x509Fact.definition.command(args).text;
  const script = options.asUser === undefined ? command : `exec setpriv --reuid=${options.asUser} --regid=${options.asUser} --clear-groups sh -c '${command.replace(/'/g, `'\\''`)}'`;
  const result = runSh(script, { ...(options.env ? { env: options.env } : {}), ...(options.cwd ? { cwd: options.cwd } : {}) });
  assert.equal(result.code, 0, result.stderr);
  return parseX509(result.stdout.toString('utf8'));
}

function makeCert(d: string, name: string, subject: string, extra: string[] = []): { key: string; cert: string } {
  const key = path.join(d, `${name}.key`);
  const cert = path.join(d, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-batch', '-utf8', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '30', '-subj', subject, ...extra], { stdio: 'ignore' });
  chmodSync(cert, 0o644);
  return { key, cert };
}

const WINDOW = 30 * 86400;

test('x509 fact here: a cert made by openssl, its key matching, names in UTF-8, hostile file names', () => {
  const d = dir();
  const { key, cert } = makeCert(d, `it's "a" $(touch PWNED) cert`, '/O=WSO2/CN=ünï.example', ['-addext', 'subjectAltName=DNS:ünï.example,IP:fe80::1']);
  const fact = factHere({ cert, key, renewBeforeSeconds: 86400 }, { cwd: d });
  assert.equal(fact.openssl, true);
  assert.equal(fact.cert.type, 'file');
  assert.equal(fact.cert.mode, '0644');
  assert.equal(fact.key.mode, '0600');
  assert.deepEqual(fact.cert.subject, [['O', 'WSO2'], ['CN', 'ünï.example']]);
  assert.deepEqual(fact.cert.altNames, ['DNS:ünï.example', 'IP Address:FE80:0:0:0:0:0:0:1']);
  assert.equal(fact.cert.bits, 2048);
  assert.match(fact.cert.publicKey ?? '', /^[0-9a-f]{64}$/);
  assert.equal(fact.key.publicKey, fact.cert.publicKey);
  assert.equal(fact.cert.expired, false);
  // Valid for 30 days: not expiring within one day, but within a 30-day window.
  assert.equal(fact.cert.expiresSoon, false);
  assert.equal(factHere({ cert, key, renewBeforeSeconds: WINDOW }).cert.expiresSoon, true);
  assert.match(fact.cert.notAfter ?? '', /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT$/);
  assert.equal(existsSync(path.join(d, 'PWNED')), false);
});

test('x509 fact here: absent files and missing directories', () => {
  const d = dir();
  const fact = factHere({ cert: path.join(d, 'c.pem'), key: path.join(d, 'no', 'k.pem'), renewBeforeSeconds: WINDOW });
  assert.deepEqual(fact, { openssl: true, certDir: true, keyDir: false, cert: { type: 'absent' }, key: { type: 'absent' } });
});

test('x509 fact here: a key that is not the cert\'s', () => {
  const d = dir();
  const one = makeCert(d, 'one', '/CN=one');
  const two = makeCert(d, 'two', '/CN=two');
  const fact = factHere({ cert: one.cert, key: two.key, renewBeforeSeconds: WINDOW });
  assert.ok(fact.key.publicKey && fact.cert.publicKey);
  assert.notEqual(fact.key.publicKey, fact.cert.publicKey);
});

test('x509 fact here: garbage, an encrypted key (no prompt, no hang), a directory in the way', () => {
  const d = dir();
  const cert = path.join(d, 'bad.crt');
  writeFileSync(cert, 'not a certificate\n');
  const key = path.join(d, 'enc.key');
  execFileSync('openssl', ['genpkey', '-quiet', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-aes256', '-pass', 'pass:secret', '-out', key]);
  const fact = factHere({ cert, key, renewBeforeSeconds: WINDOW });
  assert.equal(fact.cert.valid, false);
  assert.equal(fact.cert.subject, undefined);
  assert.equal(fact.key.type, 'file');
  assert.equal(fact.key.publicKey, undefined);
  mkdirSync(path.join(d, 'dir.crt'));
  assert.equal(factHere({ cert: path.join(d, 'dir.crt'), key, renewBeforeSeconds: WINDOW }).cert.type, 'other');
});

test('x509 fact here: a key the login user cannot read is reported, not read', () => {
  const d = dir();
  const { key, cert } = makeCert(d, 'root', '/CN=root-only');
  const fact = factHere({ cert, key, renewBeforeSeconds: WINDOW }, { asUser: 65534 });
  assert.equal(fact.key.unreadable, true);
  assert.equal(fact.key.publicKey, undefined);
  assert.equal(fact.cert.valid, true);
});

test('x509 fact here: no openssl on the PATH', () => {
  const d = dir();
  const bin = path.join(d, 'bin');
  mkdirSync(bin);
  for (const tool of ['sh', 'stat', 'dirname', 'sed', 'sha256sum', 'cut', 'head', 'grep', 'cat']) {
    const found = execFileSync('sh', ['-c', `command -v ${tool}`]).toString().trim();
    symlinkSync(found, path.join(bin, tool));
  }
  const { key, cert } = makeCert(d, 'x', '/CN=x');
  const fact = factHere({ cert, key, renewBeforeSeconds: WINDOW }, { env: { PATH: bin, LC_ALL: 'C' } });
  assert.deepEqual(fact, {
    openssl: false,
    certDir: true,
    keyDir: true,
    cert: { type: 'file', mode: '0644', owner: 'root', group: 'root' },
    key: { type: 'file', mode: '0600', owner: 'root', group: 'root' },
  });
});

const ARGS: X509FactArgs = { cert: '/etc/nginx/ssl/is.crt', key: '/etc/nginx/ssl/is.key', renewBeforeSeconds: WINDOW };
const NOTHING = parseX509('certdir=no\nkeydir=no\nopenssl=no\ncert=absent\nkey=absent\n');

test('x509 fact in a dry-run: openssl that an earlier task installs makes the answer unknowable', () => {
  const effects = new EffectStore();
  assert.equal(x509Fact.definition.refine!(NOTHING, ARGS, effects), NOTHING);
  effects.record({ kind: 'package', name: 'openssl', installed: true }, 'packages nginx, openssl');
  const refined = x509Fact.definition.refine!(NOTHING, ARGS, effects);
  assert.ok(refined instanceof Unknowable);
  assert.equal(refined.because, 'openssl is not installed yet; package openssl comes with "packages nginx, openssl"');
});

test('x509 fact in a dry-run: a directory an earlier task makes, files an earlier task writes', () => {
  const effects = new EffectStore();
  effects.record({ kind: 'path', path: '/etc/nginx/ssl', state: 'directory', fresh: true }, 'ssl dir');
  const withOpenssl = { ...NOTHING, openssl: true };
  assert.deepEqual(x509Fact.definition.refine!(withOpenssl, ARGS, effects), { ...withOpenssl, certDir: true, keyDir: true, planned: '"ssl dir"' });
  assert.equal(x509Fact.definition.fromEffects!(ARGS, effects), undefined);
  effects.record({ kind: 'path', path: ARGS.cert, state: 'file' }, 'copy cert');
  const known = x509Fact.definition.fromEffects!(ARGS, effects);
  assert.ok(known instanceof Unknowable);
  assert.equal(known.because, '/etc/nginx/ssl/is.crt is written by "copy cert"');
});

test('x509 fact command: paths are quoted, the window is a number', () => {
  const text = x509Fact.definition.command({ cert: "/a b/it's.crt", key: '/k', renewBeforeSeconds: 2592000 }).text;
  assert.ok(text.startsWith(`c='/a b/it'\\''s.crt'\nk=/k\n`));
  assert.ok(text.includes('-checkend 2592000 '));
});
