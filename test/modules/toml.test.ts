import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as iarnaParse } from '@iarna/toml';
import { decideToml, planToml, sameValue, toml, tomlModule, type TomlOptions } from '../../src/modules/toml.js';
import { parseKeyPath } from '../../src/modules/toml-render.js';
import { TaskFailure } from '../../src/modules/decision.js';
import { EffectStore } from '../../src/facts/effects.js';
import { fileFact } from '../../src/facts/file.js';
import { Secret } from '../../src/shell/secret.js';
import { absent, applyHere, atomicScript, changedLines, context, decideHere, directory, fileWith } from './helpers.js';

const P = '/etc/app.toml';
const WRITE = atomicScript(P, '0644', [`chown -- root:root "$tmp" 2>/dev/null || :`]);

interface Case {
  name: string;
  /** The file's text; undefined: absent. */
  text?: string;
  options: Omit<TomlOptions, 'path'>;
  kind: 'noop' | 'change';
  reason: string;
  content?: string;
  changed?: string[];
  diff?: string;
}

const CASES: Case[] = [
  {
    name: 'a value changes in place, its comment kept',
    text: '# app\n[server]\nhostname = "localhost" # the name\nport = 80\n',
    options: { set: { 'server.hostname': 'is.wso2.com' } },
    kind: 'change',
    reason: '/etc/app.toml: would set server.hostname',
    content: '# app\n[server]\nhostname = "is.wso2.com" # the name\nport = 80\n',
    diff: '--- /etc/app.toml\n+++ /etc/app.toml\n@@ -1,4 +1,4 @@\n # app\n [server]\n-hostname = "localhost" # the name\n+hostname = "is.wso2.com" # the name\n port = 80\n',
  },
  {
    name: 'already set: noop, with the keys in the reason',
    text: '[server]\nhostname = "is.wso2.com"\nport = 80\n',
    options: { set: { 'server.hostname': 'is.wso2.com', 'server.port': 80 }, unset: ['server.offset'] },
    kind: 'noop',
    reason: '/etc/app.toml: server.hostname, server.port already set; server.offset absent',
  },
  {
    name: 'a new key goes after the last key of its table, not at the end of the file',
    text: '[server]\nhostname = "h"\n# offset = 0\n\n[other]\nx = 1\n',
    options: { set: { 'server.offset': 1 } },
    kind: 'change',
    reason: '/etc/app.toml: would set server.offset',
    content: '[server]\nhostname = "h"\noffset = 1\n# offset = 0\n\n[other]\nx = 1\n',
    changed: ['+offset = 1'],
  },
  {
    name: 'a missing table is made after the last section of its parent',
    text: '[database.identity_db]\ntype = "h2"\n\n[database.shared_db]\ntype = "h2"\n\n[keystore]\nfile = "k.jks"\n',
    options: { set: { 'database.user': { type: 'mysql', port: 3306 } } },
    kind: 'change',
    reason: '/etc/app.toml: would set database.user',
    content: '[database.identity_db]\ntype = "h2"\n\n[database.shared_db]\ntype = "h2"\n\n[database.user]\ntype = "mysql"\nport = 3306\n\n[keystore]\nfile = "k.jks"\n',
    changed: ['+[database.user]', '+type = "mysql"', '+port = 3306', '+'],
  },
  {
    name: 'a deep key under no table: one header for the table that holds it, at the end',
    text: '[server]\nhostname = "h"\n',
    options: { set: { 'transport.https.properties.proxyPort': 443 } },
    kind: 'change',
    reason: '/etc/app.toml: would set transport.https.properties.proxyPort',
    content: '[server]\nhostname = "h"\n\n[transport.https.properties]\nproxyPort = 443\n',
  },
  {
    name: 'a plain object sets the table to exactly that content',
    text: '[db]\ntype = "h2"\nurl = "jdbc:h2:x"\npool = 5 # pool size\n\n[db.opts]\na = 1\n\n[next]\nz = 1\n',
    options: { set: { db: { type: 'mysql', url: 'jdbc:h2:x', driver: 'd' } } },
    kind: 'change',
    reason: '/etc/app.toml: would set db',
    content: '[db]\ntype = "mysql"\nurl = "jdbc:h2:x"\ndriver = "d"\n\n[next]\nz = 1\n',
    changed: ['-type = "h2"', '+type = "mysql"', '-pool = 5 # pool size', '+driver = "d"', '-[db.opts]', '-a = 1', '-'],
  },
  {
    name: 'types: numbers stay numbers, a float stays a float, a literal string stays literal',
    text: "i = 1\nf = 1.5\ns = 'lit'\nb = false\na = [1, 2]\n",
    options: { set: { i: 2, f: 3, s: 'new', b: true, a: ['x', 'y'], n: 0.25, big: 9007199254740993n } },
    kind: 'change',
    reason: '/etc/app.toml: would set i, f, s, b, a, n, big',
    content: "i = 2\nf = 3.0\ns = 'new'\nb = true\na = [\"x\", \"y\"]\nn = 0.25\nbig = 9007199254740993\n",
  },
  {
    name: 'an integer 2 equals a float 2.0 in the file: noop',
    text: 'f = 2.0\n',
    options: { set: { f: 2 } },
    kind: 'noop',
    reason: '/etc/app.toml: f already set',
  },
  {
    name: 'quoted segments: dots inside a key',
    text: '[a]\n"b.c" = 1\n',
    options: { set: { 'a."b.c"': 2, "a.'d e'": 3 } },
    kind: 'change',
    reason: '/etc/app.toml: would set a."b.c", a.\'d e\'',
    content: '[a]\n"b.c" = 2\n"d e" = 3\n',
  },
  {
    name: 'a table written with dotted keys gets dotted keys',
    text: 'srv.host = "x"\nsrv.port = 1\nother = 2\n',
    options: { set: { 'srv.tls': true, 'srv.sub.deep': 1 } },
    kind: 'change',
    reason: '/etc/app.toml: would set srv.tls, srv.sub.deep',
    content: 'srv.host = "x"\nsrv.port = 1\nsrv.tls = true\nsrv.sub.deep = 1\nother = 2\n',
  },
  {
    name: 'a table that only exists through sub-tables gets its header before them',
    text: '# about a\n[a.b]\nx = 1\n\n[a.c]\ny = 2\n',
    options: { set: { 'a.top': 1 } },
    kind: 'change',
    reason: '/etc/app.toml: would set a.top',
    content: '[a]\ntop = 1\n\n# about a\n[a.b]\nx = 1\n\n[a.c]\ny = 2\n',
  },
  {
    name: 'an inline table stays inline',
    text: 'p = { x = 1, y = 2 } # keep\n',
    options: { set: { 'p.x': 5 } },
    kind: 'change',
    reason: '/etc/app.toml: would set p.x',
    content: 'p = { x = 5, y = 2 } # keep\n',
  },
  {
    name: 'a root key goes before the first table, after the opening comment',
    text: '# header\n\n# about server\n[server]\nx = 1\n',
    options: { set: { top: 'v' } },
    kind: 'change',
    reason: '/etc/app.toml: would set top',
    content: '# header\n\ntop = "v"\n\n# about server\n[server]\nx = 1\n',
  },
  {
    name: 'array of tables: elements edited in place, added after the last',
    text: '[[t]]\nname = "a"\n\n[[t]]\nname = "b"\n\n[z]\nq = 1\n',
    options: { set: { t: [{ name: 'a' }, { name: 'B' }, { name: 'c', sub: { k: 1 } }] } },
    kind: 'change',
    reason: '/etc/app.toml: would set t',
    content: '[[t]]\nname = "a"\n\n[[t]]\nname = "B"\n\n[[t]]\nname = "c"\n\n[t.sub]\nk = 1\n\n[z]\nq = 1\n',
  },
  {
    name: 'array of tables: removed elements take their comment',
    text: '[[t]]\nname = "a"\n\n# the second\n[[t]]\nname = "b"\n\n[z]\nq = 1\n',
    options: { set: { t: [{ name: 'a' }] } },
    kind: 'change',
    reason: '/etc/app.toml: would set t',
    content: '[[t]]\nname = "a"\n\n[z]\nq = 1\n',
  },
  {
    name: 'a new array of tables',
    text: 'a = 1\n',
    options: { set: { 'resource.access_control': [{ context: '/a', secure: true }, { context: '/b', secure: false }] } },
    kind: 'change',
    reason: '/etc/app.toml: would set resource.access_control',
    content: 'a = 1\n\n[[resource.access_control]]\ncontext = "/a"\nsecure = true\n\n[[resource.access_control]]\ncontext = "/b"\nsecure = false\n',
  },
  {
    name: 'unset a table: its sections, sub-tables and the comment above it go; other comments stay',
    text: '[a]\nx = 1\n\n# b is\n[b]\ny = 2 # yy\n\n[b.c]\nz = 3\n\n# d is\n[d]\nw = 4\n',
    options: { unset: ['b'] },
    kind: 'change',
    reason: '/etc/app.toml: would remove b',
    content: '[a]\nx = 1\n\n# d is\n[d]\nw = 4\n',
  },
  {
    name: 'unset keys: only the ones there are named',
    text: '[a]\nx = 1 # c\ny = 2\n',
    options: { unset: ['a.x', 'a.nope', 'zz.top'] },
    kind: 'change',
    reason: '/etc/app.toml: would remove a.x',
    content: '[a]\ny = 2\n',
    changed: ['-x = 1 # c'],
  },
  {
    name: 'a value replaced by a table, and the other way round',
    text: '[a]\nb = 1\nc = 2\n\n[d.e]\nx = 1\n',
    options: { set: { 'a.b': { x: 1 }, 'd.e': 5 } },
    kind: 'change',
    reason: '/etc/app.toml: would set a.b, d.e',
    content: '[a]\nc = 2\n\n[a.b]\nx = 1\n\n[d]\ne = 5\n',
  },
  {
    name: 'CRLF line endings are kept',
    text: '[a]\r\nx = 1\r\n',
    options: { set: { 'a.y': 2, 'b.z': 3 } },
    kind: 'change',
    reason: '/etc/app.toml: would set a.y, b.z',
    content: '[a]\r\nx = 1\r\ny = 2\r\n\r\n[b]\r\nz = 3\r\n',
  },
  {
    name: 'a byte order mark is kept',
    text: '\uFEFF[a]\nx = 1\n',
    options: { set: { 'a.x': 2 } },
    kind: 'change',
    reason: '/etc/app.toml: would set a.x',
    content: '\uFEFF[a]\nx = 2\n',
  },
  {
    name: 'no newline at the end of the file',
    text: '[a]\nx = 1',
    options: { set: { 'a.y': 2 } },
    kind: 'change',
    reason: '/etc/app.toml: would set a.y',
    content: '[a]\nx = 1\ny = 2\n',
  },
  {
    name: 'a multi-line string is replaced whole; a removed section after it does not eat its last line',
    text: 'a = """\nline1\n# not a comment"""\n[b]\nx = 1\n',
    options: { set: { a: 'one' }, unset: ['b'] },
    kind: 'change',
    reason: '/etc/app.toml: would set a; would remove b',
    content: 'a = "one"\n',
  },
  {
    name: 'the file is created when missing with create',
    options: { set: { 'a.b': 1, c: 'x' }, create: true },
    kind: 'change',
    reason: '/etc/app.toml would be created; would set a.b, c',
    content: 'c = "x"\n\n[a]\nb = 1\n',
    diff: '--- /dev/null\n+++ /etc/app.toml\n@@ -0,0 +1,4 @@\n+c = "x"\n+\n+[a]\n+b = 1\n',
  },
  {
    name: 'a missing file with only keys to remove: noop',
    options: { unset: ['a.b'] },
    kind: 'noop',
    reason: '/etc/app.toml does not exist, so a.b absent',
  },
];

for (const c of CASES) {
  test(`toml decide: ${c.name}`, () => {
    const fact = c.text === undefined ? absent(P) : fileWith(P, c.text);
    const decision = decideToml(planToml({ path: P, ...c.options }), fact);
    assert.equal(decision.kind, c.kind, decision.reason);
    assert.equal(decision.reason, c.reason);
    if (decision.kind === 'noop') return;
    assert.equal(decision.steps.length, 1);
    const step = decision.steps[0]!;
    assert.ok(step.kind === 'exec');
    assert.equal(step.command.text, fact.type === 'absent' ? atomicScript(P, '0644') : WRITE);
    assert.equal(step.stdin?.toString(), c.content);
    if (c.changed) assert.deepEqual(changedLines(decision.diff), c.changed);
    if (c.diff) assert.equal(decision.diff, c.diff);
    // Deciding again on the result finds nothing to do.
    const again = decideToml(planToml({ path: P, ...c.options }), fileWith(P, step.stdin!.toString()));
    assert.equal(again.kind, 'noop', again.reason);
  });
}

const FAILURES: { name: string; text?: string; options: Omit<TomlOptions, 'path'>; message: string; fact?: ReturnType<typeof directory> }[] = [
  { name: 'invalid TOML: line and column', text: '[server]\nhostname = "a"\nport = 80 80\n', options: { set: { a: 1 } }, message: '/etc/app.toml:3:11: invalid TOML: Key/value pairs must be separated by a newline' },
  { name: 'a key defined twice', text: '[server]\nhostname = "a"\nhostname = "b"\n', options: { set: { a: 1 } }, message: '/etc/app.toml:3:1: invalid TOML: Value already defined for server.hostname' },
  { name: 'a table defined twice', text: '[a]\nx = 1\n[b]\n[a]\n', options: { set: { c: 1 } }, message: '/etc/app.toml:4:1: invalid TOML: Table already defined: a' },
  { name: 'setting through a value', text: 'a = 1\n', options: { set: { 'a.b': 1 } }, message: '/etc/app.toml: cannot set a.b: a is a number, not a table' },
  { name: 'setting through an array of tables', text: '[[a]]\nb = 1\n', options: { set: { 'a.b': 2 } }, message: '/etc/app.toml: cannot set a.b: a is an array of tables (set the whole array)' },
  { name: 'a missing file', options: { set: { a: 1 } }, message: '/etc/app.toml does not exist (set create: true to create it)' },
  { name: 'a directory', options: { set: { a: 1 } }, fact: directory(P), message: '/etc/app.toml is not a regular file (directory)' },
];

for (const c of FAILURES) {
  test(`toml decide fails: ${c.name}`, () => {
    const fact = c.fact ?? (c.text === undefined ? absent(P) : fileWith(P, c.text));
    assert.throws(() => decideToml(planToml({ path: P, ...c.options }), fact), (error: unknown) => {
      assert.ok(error instanceof TaskFailure, String(error));
      assert.equal(error.message, c.message);
      return true;
    });
  });
}

test('toml: a secret is written into the file but shown as *** in the diff, its old value too', () => {
  const text = '[db]\nusername = "u"\npassword = "old-pass" # rotated yearly\n';
  const decision = decideToml(planToml({ path: P, set: { 'db.password': new Secret('n3w"pass'), 'db.username': 'wso2' } }), fileWith(P, text));
  assert.ok(decision.kind === 'change');
  const step = decision.steps[0]!;
  assert.ok(step.kind === 'exec');
  assert.equal(step.stdin?.toString(), '[db]\nusername = "wso2"\npassword = "n3w\\"pass" # rotated yearly\n');
  assert.deepEqual(changedLines(decision.diff), ['-username = "u"', '-password = "***" # rotated yearly', '+username = "wso2"', '+password = "***" # rotated yearly']);
  assert.ok(!decision.diff!.includes('old-pass') && !decision.diff!.includes('n3w'));
  assert.ok(!decision.reason.includes('n3w'));
  assert.ok(!step.command.text.includes('n3w'));
});

test('toml: a secret inside a table set whole is masked, and matches its value in the file', () => {
  const plan = planToml({ path: P, set: { 'database.user': { type: 'mysql', password: new Secret('s3cret') } } });
  const decision = decideToml(plan, fileWith(P, '[server]\nx = 1\n'));
  assert.ok(decision.kind === 'change');
  assert.deepEqual(changedLines(decision.diff), ['+', '+[database.user]', '+type = "mysql"', '+password = "***"']);
  const written = (decision.steps[0] as { stdin: Buffer }).stdin.toString();
  assert.ok(written.includes('password = "s3cret"'));
  assert.equal(decideToml(plan, fileWith(P, written)).kind, 'noop');
});

test('toml: the effect carries the new content, so a later task in a dry-run reads it', () => {
  const decision = decideToml(planToml({ path: P, set: { 'a.b': 1 } }), fileWith(P, '[a]\nb = 0\n', { mode: '0640', owner: 'wso2', group: 'wso2' }));
  assert.ok(decision.kind === 'change');
  assert.equal(decision.effects?.length, 1);
  const effect = decision.effects![0]!;
  assert.ok(effect.kind === 'path');
  assert.equal(effect.content?.toString(), '[a]\nb = 1\n');
  assert.equal(effect.mode, '0640');
  assert.equal(effect.owner, 'wso2');
  const store = new EffectStore();
  store.record(effect, 'edit a.b');
  const later = fileFact.definition.fromEffects!({ path: P }, store);
  assert.ok(later && !(later instanceof Error) && 'content' in later);
  const next = decideToml(planToml({ path: P, set: { 'a.b': 1 } }), later as ReturnType<typeof fileWith>);
  assert.equal(next.kind, 'noop');
});

test('toml: the result always reads back as TOML 1.0 (checked with @iarna/toml too)', () => {
  for (const c of CASES) {
    if (c.content === undefined || c.content.startsWith('\uFEFF')) continue;
    assert.doesNotThrow(() => iarnaParse(c.content!), c.name);
  }
});

test('parseKeyPath: bare, quoted and literal segments', () => {
  assert.deepEqual(parseKeyPath('server.hostname'), ['server', 'hostname']);
  assert.deepEqual(parseKeyPath('"a.b".c'), ['a.b', 'c']);
  assert.deepEqual(parseKeyPath("a . 'x\\y' . \"q\\\"\\u00e9\""), ['a', 'x\\y', 'q"é']);
  assert.deepEqual(parseKeyPath('site."google.com"'), ['site', 'google.com']);
  for (const bad of ['', 'a.', '.a', 'a..b', 'a b', '"open', 'a.b c']) assert.throws(() => parseKeyPath(bad), bad);
});

test('sameValue: secrets, bigints, dates, tables', () => {
  assert.ok(sameValue('x', new Secret('x')));
  assert.ok(!sameValue('y', new Secret('x')));
  assert.ok(sameValue(9007199254740993n, 9007199254740993n));
  assert.ok(sameValue(5n, 5));
  assert.ok(sameValue({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }));
  assert.ok(!sameValue({ a: 1, b: 2 }, { a: 1 }));
  assert.ok(!sameValue(1, '1'));
});

const REJECTED: { name: string; options: Record<string, unknown>; message: RegExp }[] = [
  { name: 'nothing to do', options: { path: P }, message: /give keys to "set" or "unset"/ },
  { name: 'a relative path', options: { path: 'app.toml', set: { a: 1 } }, message: /absolute path/ },
  { name: 'an unknown option', options: { path: P, set: { a: 1 }, merge: true }, message: /unknown option "merge"/ },
  { name: 'a bad key', options: { path: P, set: { 'a..b': 1 } }, message: /key "a\.\.b"/ },
  { name: 'null', options: { path: P, set: { a: null } }, message: /set\["a"\] is null/ },
  { name: 'nested undefined', options: { path: P, set: { a: { b: undefined } } }, message: /set\["a"\]\.b is undefined/ },
  { name: 'an inexact integer', options: { path: P, set: { a: 2 ** 60 } }, message: /pass a bigint/ },
  { name: 'overlapping keys', options: { path: P, set: { a: { b: 1 }, 'a.c': 2 } }, message: /keys "a" and "a\.c" overlap/ },
  { name: 'a key both set and unset', options: { path: P, set: { 'a.b': 1 }, unset: ['a."b"'] }, message: /overlap/ },
];

for (const c of REJECTED) {
  test(`toml() rejects ${c.name}`, () => {
    assert.throws(() => toml(c.options as unknown as TomlOptions), c.message);
  });
}

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('toml for real: facts read here, the step writes the file, mode kept, then noop', () => {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'is-provision-toml-')));
  made.push(dir);
  const file = path.join(dir, "it's deployment.toml");
  writeFileSync(file, '# conf\n[server]\nhostname = "localhost"\n\n[keystore]\npassword = "x"\n');
  chmodSync(file, 0o640);
  const plan = planToml({ path: file, set: { 'server.hostname': 'is.wso2.com', 'server.offset': 1, 'keystore.password': new Secret('pa$$ word') } });
  const decision = decideHere(tomlModule, plan, context());
  assert.equal(decision.kind, 'change', decision.reason);
  applyHere(decision);
  assert.equal(readFileSync(file, 'utf8'), '# conf\n[server]\nhostname = "is.wso2.com"\noffset = 1\n\n[keystore]\npassword = "pa$$ word"\n');
  assert.equal((statSync(file).mode & 0o777).toString(8), '640');
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.is-provision.')), []);
  assert.equal(decideHere(tomlModule, plan, context()).kind, 'noop');
});

test('toml for real: invalid TOML fails and the file is left as it was', () => {
  const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'is-provision-toml-')));
  made.push(dir);
  const file = path.join(dir, 'bad.toml');
  const bad = '[server]\nhostname = "a\n';
  writeFileSync(file, bad);
  assert.throws(() => decideHere(tomlModule, planToml({ path: file, set: { 'server.hostname': 'b' } })), (error: unknown) => {
    assert.ok(error instanceof TaskFailure);
    assert.match(error.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2:14: invalid TOML: Newline \\(0x0A\\) not allowed in basic strings$`));
    return true;
  });
  assert.equal(readFileSync(file, 'utf8'), bad);
});
