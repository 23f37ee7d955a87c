import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Unknowable } from '../../src/facts/define.js';
import { EffectStore } from '../../src/facts/effects.js';
import { fileFact, type FileFact } from '../../src/facts/file.js';
import { markerPath, unarchiveStateFact, type UnarchiveState, type UnarchiveStateArgs } from '../../src/facts/unarchive.js';
import { TaskFailure, type Decision, type Step } from '../../src/modules/decision.js';
import type { DecideContext, PrepareContext } from '../../src/modules/define.js';
import { decideUnarchive, SYSTEM_CACHE, unarchive, unarchiveModule, type UnarchivePlan } from '../../src/modules/unarchive.js';
import { PlaybookError } from '../../src/playbook/errors.js';
import { Shell } from '../../src/shell/quote.js';
import { wrap } from '../../src/shell/wrap.js';
import { runSh } from '../shell/run-sh.js';

const ROOT = realpathSync(mkdtempSync(path.join(tmpdir(), 'is-provision-unarchive-')));
chmodSync(ROOT, 0o755);
const CACHE = path.join(ROOT, 'cache');
const HOME = path.join(ROOT, 'home');
mkdirSync(HOME);
after(() => rmSync(ROOT, { recursive: true, force: true }));
const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

const TOML = '[server]\nhostname = "localhost"\noffset = 0\n';
const BIG = Buffer.from(Array.from({ length: 100 * 1024 }, (_, i) => (i * 7) % 256));

/** A pack like WSO2's: one top directory, a config, a script, a binary, an empty dir, an odd name. */
function packTree(name: string, toml = TOML): string {
  const dir = path.join(ROOT, 'trees', name);
  const top = path.join(dir, 'wso2is-test');
  mkdirSync(path.join(top, 'repository', 'conf'), { recursive: true });
  mkdirSync(path.join(top, 'bin'));
  mkdirSync(path.join(top, 'lib'));
  mkdirSync(path.join(top, 'logs'));
  writeFileSync(path.join(top, 'repository', 'conf', 'deployment.toml'), toml);
  writeFileSync(path.join(top, 'bin', 'wso2server.sh'), '#!/bin/sh\necho started\n');
  chmodSync(path.join(top, 'bin', 'wso2server.sh'), 0o755);
  writeFileSync(path.join(top, 'lib', 'big.bin'), BIG);
  writeFileSync(path.join(top, `it's $(odd).txt`), 'odd\n');
  // Every pack its own bytes: the host's cache is by sha256, so equal packs would share it.
  writeFileSync(path.join(top, 'VERSION'), `${name}\n`);
  return dir;
}

function zipPack(name: string, toml?: string): string {
  const tree = packTree(name, toml);
  const out = path.join(ROOT, 'packs', `${name}.zip`);
  mkdirSync(path.dirname(out), { recursive: true });
  execFileSync('zip', ['-qr', out, 'wso2is-test'], { cwd: tree });
  return out;
}

function tgzPack(name: string, toml?: string): string {
  const tree = packTree(name, toml);
  const out = path.join(ROOT, 'packs', `${name}.tgz`);
  mkdirSync(path.dirname(out), { recursive: true });
  execFileSync('tar', ['-czf', out, '.'], { cwd: tree });
  return out;
}

const prepareContext: PrepareContext = {
  host: { name: 'local', address: '127.0.0.1', groups: [], vars: {} },
  vars: {},
  resolveLocal: (p) => (path.isAbsolute(p) ? p : path.join(ROOT, p)),
  readLocal: async (p) => readFileSync(path.join(ROOT, p)),
};

function context(extra: Partial<DecideContext> = {}): DecideContext {
  return { host: prepareContext.host, vars: {}, dryRun: false, become: false, loginUser: 'root', now: new Date('2024-05-01T12:00:00Z'), ...extra };
}

async function plan(src: string, options: { dest: string; owner?: string; group?: string; stripComponents?: number; creates?: string; beforeReplace?: string | string[] }): Promise<UnarchivePlan> {
  const task = unarchive({ src, ...options });
  return unarchiveModule.prepare!(task.options, prepareContext) as Promise<UnarchivePlan>;
}

/** The host's cache lives in this test's directory: the same commands, another directory. */
const rehome = (text: string): string => text.split(SYSTEM_CACHE).join(CACHE);

/** Every fact of the task, read here as the engine reads them on a host. */
function facts(p: UnarchivePlan, ctx: DecideContext): { state: UnarchiveState; creates?: FileFact } {
  const values: Record<string, unknown> = {};
  for (const [key, call] of Object.entries(unarchiveModule.facts(p, ctx))) {
    if (!call) continue;
    const result = runSh(wrap(new Shell(rehome(call.fact.command(call.args).text))).command, { env: { PATH: process.env.PATH!, HOME, LC_ALL: 'C' } });
    assert.equal(result.code, 0, result.stderr);
    values[key] = call.fact.parse(result.stdout.toString('utf8'), call.args);
  }
  return values as { state: UnarchiveState; creates?: FileFact };
}

/** Runs steps as the engine would; the upload is a copy (as another user, where given). */
function apply(steps: readonly Step[], options: { uploadAs?: number; corrupt?: boolean; stopBefore?: string } = {}): void {
  for (const step of steps) {
    if (options.stopBefore && step.label?.startsWith(options.stopBefore)) return;
    if (step.kind === 'upload') {
      const to = rehome(path.isAbsolute(step.to) ? step.to : path.join(HOME, step.to));
      const data = options.corrupt ? Buffer.from('not the archive') : readFileSync(step.from);
      if (options.uploadAs === undefined) {
        writeFileSync(to, data, { mode: 0o600 });
      } else {
        execFileSync('setpriv', [`--reuid=${options.uploadAs}`, `--regid=${options.uploadAs}`, '--clear-groups', 'sh', '-c', 'umask 077; cat > "$1"', 'upload', to], { input: data });
      }
      continue;
    }
    const result = runSh(wrap(new Shell(rehome(step.command.text))).command, { env: { PATH: process.env.PATH!, HOME, LC_ALL: 'C' }, ...(step.stdin ? { stdin: step.stdin } : {}) });
    if (result.code !== 0) throw new Error(`step "${step.label ?? step.command.text}" failed (${result.code}): ${result.stderr}`);
  }
}

function decide(p: UnarchivePlan, ctx = context()): Decision {
  return decideUnarchive(p, facts(p, ctx), ctx);
}

const labels = (d: Decision): string[] => (d.kind === 'change' ? d.steps.map((s) => `${s.kind}:${s.label ?? ''}`) : []);
const short = (p: UnarchivePlan): string => p.sha256.slice(0, 12);
const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;
const modeOf = (p: string): string => (statSync(p).mode & 0o7777).toString(8).padStart(4, '0');

test('prepare reads a zip: format, sha256, size, members, the content of small text files only', async () => {
  const src = zipPack('prep');
  const p = await plan('packs/prep.zip', { dest: '/opt/wso2/node1/' });
  const bytes = readFileSync(src);
  assert.equal(p.src, src);
  assert.equal(p.name, 'prep.zip');
  assert.equal(p.dest, '/opt/wso2/node1');
  assert.equal(p.format, 'zip');
  assert.equal(p.sha256, sha(bytes));
  assert.equal(p.size, bytes.length);
  const byPath = new Map(p.entries.map((e) => [e.path, e]));
  assert.deepEqual(byPath.get('wso2is-test/repository/conf/deployment.toml')?.content, Buffer.from(TOML));
  assert.equal(byPath.get('wso2is-test/bin/wso2server.sh')?.mode, '0755');
  assert.equal(byPath.get('wso2is-test/lib/big.bin')?.size, BIG.length);
  assert.equal(byPath.get('wso2is-test/lib/big.bin')?.content, undefined);
  assert.equal(byPath.get('wso2is-test/logs')?.type, 'directory');
  assert.ok(byPath.has(`wso2is-test/it's $(odd).txt`));
  assert.equal(p.unpackedSize, TOML.length + BIG.length + '#!/bin/sh\necho started\n'.length + 'odd\n'.length + 'prep\n'.length);
});

test('prepare reads a tar.gz the same way, "./" prefixes dropped; stripComponents drops the top directory', async () => {
  tgzPack('prep-tgz');
  const whole = await plan('packs/prep-tgz.tgz', { dest: '/opt/x' });
  assert.equal(whole.format, 'tar.gz');
  assert.deepEqual(whole.entries.find((e) => e.path === 'wso2is-test/repository/conf/deployment.toml')?.content, Buffer.from(TOML));
  const stripped = await plan('packs/prep-tgz.tgz', { dest: '/opt/x', stripComponents: 1 });
  assert.equal(stripped.prefix, 'wso2is-test');
  assert.deepEqual(stripped.entries.map((e) => e.path).sort(), ['VERSION', 'bin', 'bin/wso2server.sh', `it's $(odd).txt`, 'lib', 'lib/big.bin', 'logs', 'repository', 'repository/conf', 'repository/conf/deployment.toml']);
});

test('prepare keeps the content of config files first when a pack has more small text than the budget', async () => {
  const tree = path.join(ROOT, 'trees', 'many');
  mkdirSync(path.join(tree, 'pack', 'aaa'), { recursive: true });
  mkdirSync(path.join(tree, 'pack', 'zzz', 'repository', 'conf'), { recursive: true });
  const filler = 'x'.repeat(60 * 1024 - 1) + '\n';
  for (let i = 0; i < 150; i++) writeFileSync(path.join(tree, 'pack', 'aaa', `note-${i}.txt`), filler);
  writeFileSync(path.join(tree, 'pack', 'zzz', 'repository', 'conf', 'deployment.toml'), TOML);
  execFileSync('zip', ['-qr', path.join(ROOT, 'packs', 'many.zip'), 'pack'], { cwd: tree });
  execFileSync('tar', ['-czf', path.join(ROOT, 'packs', 'many.tgz'), 'pack'], { cwd: tree });
  for (const name of ['many.zip', 'many.tgz']) {
    const p = await plan(`packs/${name}`, { dest: '/opt/many' });
    const kept = p.entries.filter((e) => e.content);
    assert.deepEqual(p.entries.find((e) => e.path === 'pack/zzz/repository/conf/deployment.toml')?.content, Buffer.from(TOML), name);
    assert.ok(kept.reduce((n, e) => n + e.content!.length, 0) <= 8 * 1024 * 1024, name);
    assert.ok(kept.length > 100 && kept.length < 150, `${name}: ${kept.length} kept`);
  }
});

test('prepare refuses what it cannot unpack safely, before any host is touched', async () => {
  await assert.rejects(plan('packs/missing.zip', { dest: '/opt/x' }), (e: Error) => e instanceof PlaybookError && /cannot read local archive .*missing\.zip: no such file/.test(e.message));
  const evil = path.join(ROOT, 'evil');
  mkdirSync(path.join(evil, 'in'), { recursive: true });
  writeFileSync(path.join(evil, 'outside.txt'), 'x');
  execFileSync('tar', ['-czPf', path.join(evil, 'evil.tgz'), '../outside.txt'], { cwd: path.join(evil, 'in') });
  await assert.rejects(plan(path.join(evil, 'evil.tgz'), { dest: '/opt/x' }), /climbs out with "\.\."/);
  writeFileSync(path.join(evil, 'not-an-archive.zip'), 'hello');
  await assert.rejects(plan(path.join(evil, 'not-an-archive.zip'), { dest: '/opt/x' }), /neither a zip nor a gzip-compressed tar/);
  const two = path.join(evil, 'two');
  mkdirSync(path.join(two, 'a'), { recursive: true });
  mkdirSync(path.join(two, 'b'));
  writeFileSync(path.join(two, 'a', 'f'), 'f');
  writeFileSync(path.join(two, 'b', 'g'), 'g');
  execFileSync('tar', ['-czf', path.join(evil, 'two.tgz'), 'a', 'b'], { cwd: two });
  await assert.rejects(plan(path.join(evil, 'two.tgz'), { dest: '/opt/x', stripComponents: 1 }), /stripComponents 1 would merge a\/, b\//);
  assert.throws(() => unarchive({ src: 'x.zip', dest: 'relative' }), /dest must be an absolute directory/);
  assert.throws(() => unarchive({ src: 'x.zip', dest: '/' }), /dest must be an absolute directory other than "\/"/);
  assert.throws(() => unarchive({ src: 'x.zip', dest: '/opt/x', stripComponents: -1 }), /stripComponents must be a whole number/);
  assert.throws(() => unarchive({ src: 'x.zip', dest: '/opt/x', mode: '0755' } as never), /unknown option "mode"/);
});

test('zip, for real: unpack, re-run is ok, a new pack replaces it, interruptions converge', async () => {
  zipPack('pack-a');
  const dest = path.join(ROOT, 'opt', 'wso2', 'node1');
  const a = await plan('packs/pack-a.zip', { dest });

  // A fresh host: upload, verify, unpack, move into place.
  const first = decide(a);
  assert.equal(first.kind, 'change');
  assert.equal(first.reason, `${dest} would be unpacked from pack-a.zip (sha256 ${short(a)}, ${a.entries.length} entries, ${mb(a.unpackedSize)}); upload ${mb(a.size)}`);
  assert.deepEqual(labels(first), ['exec:make room for pack-a.zip', 'upload:upload pack-a.zip', 'exec:verify pack-a.zip', 'exec:unpack pack-a.zip', `exec:move into ${dest}`]);
  const upload = first.kind === 'change' ? first.steps[1] : undefined;
  assert.deepEqual(upload, { kind: 'upload', from: a.src, to: `${SYSTEM_CACHE}/incoming-root/${a.sha256}.zip.part`, mode: '0600', label: 'upload pack-a.zip' });
  apply(first.kind === 'change' ? first.steps : []);
  assert.equal(readFileSync(path.join(dest, 'wso2is-test/repository/conf/deployment.toml'), 'utf8'), TOML);
  assert.deepEqual(readFileSync(path.join(dest, 'wso2is-test/lib/big.bin')), BIG);
  assert.equal(modeOf(path.join(dest, 'wso2is-test/bin/wso2server.sh')), '0755');
  assert.equal(modeOf(dest), '0755');
  assert.deepEqual(JSON.parse(readFileSync(markerPath(dest), 'utf8')), { archive: 'pack-a.zip', sha256: a.sha256, size: a.size, stripComponents: 0 });
  assert.deepEqual(readFileSync(path.join(CACHE, `${a.sha256}.zip`)), readFileSync(a.src));
  assert.deepEqual(readdirSync(path.dirname(dest)), ['node1']);

  // Re-run: the marker says so.
  assert.deepEqual(decide(a), { kind: 'noop', reason: `${dest} holds pack-a.zip (sha256 ${short(a)})` });

  // Another pack: the old content moves aside, one generation kept.
  zipPack('pack-b', TOML.replace('offset = 0', 'offset = 1'));
  const b = await plan('packs/pack-b.zip', { dest });
  const second = decide(b);
  assert.equal(
    second.reason,
    `${dest} holds pack-a.zip (sha256 ${short(a)}), not pack-b.zip (sha256 ${short(b)}, ${b.entries.length} entries, ${mb(b.unpackedSize)}); the old content would move to ${dest}.previous; upload ${mb(b.size)}`,
  );
  apply(second.kind === 'change' ? second.steps : []);
  assert.match(readFileSync(path.join(dest, 'wso2is-test/repository/conf/deployment.toml'), 'utf8'), /offset = 1/);
  assert.equal(JSON.parse(readFileSync(markerPath(`${dest}.previous`), 'utf8')).archive, 'pack-a.zip');
  assert.equal(decide(b).kind, 'noop');

  // Interrupted after unpacking (staging left, no new marker): the next run cleans up and converges.
  zipPack('pack-c', TOML.replace('offset = 0', 'offset = 2'));
  const c = await plan('packs/pack-c.zip', { dest });
  const third = decide(c);
  apply(third.kind === 'change' ? third.steps : [], { stopBefore: 'move into' });
  assert.deepEqual(readdirSync(path.dirname(dest)).sort(), ['node1', 'node1.previous', `node1.staging-${short(c)}`]);
  const resumed = decide(c);
  assert.equal(
    resumed.reason,
    `${dest} holds pack-b.zip (sha256 ${short(b)}), not pack-c.zip (sha256 ${short(c)}, ${c.entries.length} entries, ${mb(c.unpackedSize)}); the old content would move to ${dest}.previous; pack-c.zip is cached on the host; removes 1 staging directory left by an interrupted run`,
  );
  assert.deepEqual(labels(resumed), ['exec:unpack pack-c.zip', `exec:move into ${dest}`]);
  apply(resumed.kind === 'change' ? resumed.steps : []);
  assert.deepEqual(readdirSync(path.dirname(dest)).sort(), ['node1', 'node1.previous']);
  assert.match(readFileSync(path.join(dest, 'wso2is-test/repository/conf/deployment.toml'), 'utf8'), /offset = 2/);
  assert.equal(decide(c).kind, 'noop');

  // Interrupted between the rename and the marker: dest without a marker is never taken as done.
  rmSync(markerPath(dest));
  const unmarked = decide(c);
  assert.equal(
    unmarked.reason,
    `${dest} exists without an unarchive marker; pack-c.zip (sha256 ${short(c)}, ${c.entries.length} entries, ${mb(c.unpackedSize)}) would be unpacked and the old content moved to ${dest}.previous; pack-c.zip is cached on the host`,
  );
  apply(unmarked.kind === 'change' ? unmarked.steps : []);
  assert.equal(decide(c).kind, 'noop');

  // Interrupted after moving the old dest aside: dest is missing, the kept generation is not overwritten.
  rmSync(dest, { recursive: true });
  assert.match(decide(c).reason, /would be unpacked from pack-c\.zip .*; pack-c\.zip is cached on the host$/);
  apply((decide(c) as Extract<Decision, { kind: 'change' }>).steps);
  assert.equal(decide(c).kind, 'noop');
});

test('an upload damaged on the way is refused and removed; the next run uploads again', async () => {
  zipPack('pack-d');
  const dest = path.join(ROOT, 'opt', 'damaged');
  const d = await plan('packs/pack-d.zip', { dest });
  const first = decide(d);
  assert.throws(() => apply(first.kind === 'change' ? first.steps : [], { corrupt: true }), /step "verify pack-d\.zip" failed \(1\): uploaded pack-d\.zip is corrupt: sha256 [0-9a-f]{64}, expected [0-9a-f]{64}/);
  assert.equal(existsSync(dest), false);
  assert.equal(existsSync(path.join(CACHE, `${d.sha256}.zip`)), false);
  const again = decide(d);
  assert.match(again.reason, /; upload /);
  apply(again.kind === 'change' ? again.steps : []);
  assert.equal(decide(d).kind, 'noop');
});

test('a damaged cached copy is noticed by its sha256 and uploaded again', async () => {
  zipPack('pack-e');
  const dest = path.join(ROOT, 'opt', 'cache-damaged');
  const e = await plan('packs/pack-e.zip', { dest });
  mkdirSync(CACHE, { recursive: true });
  const damaged = Buffer.from(readFileSync(e.src));
  damaged[damaged.length - 30] = damaged[damaged.length - 30]! ^ 0xff;
  writeFileSync(path.join(CACHE, `${e.sha256}.zip`), damaged);
  const first = decide(e);
  assert.match(first.reason, /; upload [\d.]+ MB \(the cached copy is damaged\)$/);
  apply(first.kind === 'change' ? first.steps : []);
  assert.equal(decide(e).kind, 'noop');
});

test('tar.gz with stripComponents, owner and group, through sudo: the login user uploads, root moves it', async () => {
  tgzPack('pack-t');
  const dest = path.join(ROOT, 'opt', 'node-t');
  const ctx = context({ become: true, loginUser: 'nobody' });
  const t = await plan('packs/pack-t.tgz', { dest, stripComponents: 1, owner: 'daemon', group: 'daemon' });
  const first = decide(t, ctx);
  assert.equal(first.kind, 'change');
  const up = first.kind === 'change' ? first.steps[1] : undefined;
  assert.equal(up?.kind === 'upload' ? up.to : '', `${SYSTEM_CACHE}/incoming-nobody/${t.sha256}.tar.gz.part`);
  apply(first.kind === 'change' ? first.steps : [], { uploadAs: Number(execFileSync('id', ['-u', 'nobody']).toString().trim()) });
  assert.equal(readFileSync(path.join(dest, 'repository/conf/deployment.toml'), 'utf8'), TOML);
  const owners = execFileSync('sh', ['-c', 'find "$1" -exec stat -c %U:%G {} + | sort -u', 'find', dest]).toString().trim();
  assert.equal(owners, 'daemon:daemon');
  assert.equal(statSync(path.join(CACHE, `${t.sha256}.tar.gz`)).uid, 0);
  assert.deepEqual(decide(t, ctx), { kind: 'noop', reason: `${dest} holds pack-t.tgz (sha256 ${short(t)})` });

  // Only the owner changes: a chown, not a new unpack.
  const t2 = await plan('packs/pack-t.tgz', { dest, stripComponents: 1, owner: 'bin' });
  const chown = decide(t2, ctx);
  assert.equal(chown.reason, `${dest} holds pack-t.tgz (sha256 ${short(t)}) but is owned by daemon:daemon, not bin:daemon`);
  assert.deepEqual(chown.kind === 'change' ? chown.steps.map((s) => (s.kind === 'exec' ? s.command.text : s.kind)) : [], [`chown -R -- bin ${dest}`]);
  apply(chown.kind === 'change' ? chown.steps : []);
  assert.equal(decide(t2, ctx).kind, 'noop');
});

test('without root (no become, a login user): the cache is under $HOME, the upload path relative to it', async () => {
  zipPack('pack-h');
  const dest = path.join(ROOT, 'home-dest', 'app');
  const ctx = context({ loginUser: 'deploy' });
  const h = await plan('packs/pack-h.zip', { dest });
  const first = decide(h, ctx);
  const up = first.kind === 'change' ? first.steps[1] : undefined;
  assert.equal(up?.kind === 'upload' ? up.to : '', `.cache/is-provision/incoming/${h.sha256}.zip.part`);
  apply(first.kind === 'change' ? first.steps : []);
  assert.ok(existsSync(path.join(HOME, '.cache/is-provision', `${h.sha256}.zip`)));
  assert.equal(decide(h, ctx).kind, 'noop');
});

test('an existing empty dest (made by a file task) is replaced, keeping its mode; creates skips', async () => {
  zipPack('pack-f');
  const dest = path.join(ROOT, 'opt', 'made-empty');
  mkdirSync(dest, { recursive: true });
  chmodSync(dest, 0o750);
  const f = await plan('packs/pack-f.zip', { dest });
  const first = decide(f);
  assert.match(first.reason, new RegExp(`^${dest} is empty; pack-f\\.zip \\(sha256 ${short(f)}, \\d+ entries, [\\d.]+ MB\\) would be unpacked into it; upload`));
  apply(first.kind === 'change' ? first.steps : []);
  assert.equal(modeOf(dest), '0750');
  assert.equal(existsSync(`${dest}.previous`), false);
  const g = await plan('packs/pack-f.zip', { dest: path.join(ROOT, 'opt', 'adopted'), creates: dest });
  assert.deepEqual(decide(g), { kind: 'noop', reason: `${dest} exists` });
});

const STATE: UnarchiveState = { dest: 'absent', cache: 'absent', staging: 0, unzip: true };

test('decide: failures name what is missing', async () => {
  zipPack('pack-u');
  const u = await plan('packs/pack-u.zip', { dest: '/opt/u' });
  const ctx = context();
  assert.throws(() => unarchiveModule.decide(u, { state: { ...STATE, unzip: false } }, ctx), (e: Error) => e instanceof TaskFailure && e.message === 'unzip is not installed on local: install the package unzip first');
  assert.throws(() => unarchiveModule.decide(u, { state: { ...STATE, dest: 'other' } }, ctx), /\/opt\/u exists and is not a directory/);
  assert.throws(() => unarchiveModule.decide(u, { state: { ...STATE, availKiB: 10 } }, ctx), /not enough space for \/opt\/u: pack-u\.zip unpacks to 0\.1 MB, 0\.0 MB free/);
  const left = unarchiveModule.decide(u, { state: { ...STATE, dest: 'directory', marker: { archive: 'pack-u.zip', sha256: u.sha256, size: u.size, stripComponents: 0 }, staging: 2 } }, ctx);
  assert.equal(left.reason, `/opt/u holds pack-u.zip (sha256 ${short(u)}) but has 2 staging directories left by an interrupted run beside it, to remove`);
  assert.deepEqual(left.kind === 'change' ? left.steps.map((s) => (s.kind === 'exec' ? s.command.text : '')) : [], ['rm -rf -- /opt/u.staging-*']);
});

test('decide renders the install steps exactly (quoting a hostile dest)', async () => {
  zipPack('pack-q');
  const dest = `/opt/it's a "dest"`;
  const q = await plan('packs/pack-q.zip', { dest, stripComponents: 1, owner: 'wso2' });
  const d = unarchiveModule.decide(q, { state: { ...STATE, cache: 'match' } }, context());
  const texts = d.kind === 'change' ? d.steps.map((s) => (s.kind === 'exec' ? s.command.text : s.kind)) : [];
  const head = `set -e\ndest='/opt/it'\\''s a "dest"'\nstaging="$dest".staging-${short(q)}`;
  assert.deepEqual(texts, [
    `${head}\ncache=/var/cache/is-provision\nrm -rf -- "$dest".staging-*\nmkdir -p -- "$(dirname -- "$dest")"\nmkdir -m 0700 -- "$staging"\n` +
      `unzip -q -o "$cache"/${q.sha256}.zip -d "$staging" < /dev/null\ntop="$staging"/wso2is-test\nchown -R -- wso2 "$top"`,
    `${head}\ntop="$staging"/wso2is-test\nif [ -e "$dest" ] || [ -L "$dest" ]; then\n  chmod --reference="$dest" "$top"\n` +
      `  if [ -d "$dest" ] && [ ! -L "$dest" ] && [ -z "$(ls -A -- "$dest")" ]; then rmdir -- "$dest"\n  else\n    rm -rf -- "$dest".previous; mv -- "$dest" "$dest".previous\n  fi\nfi\n` +
      `mv -T -- "$top" "$dest"\nrm -rf -- "$staging"\nm="$dest"/.is-provision-unarchive.json\n` +
      `printf '%s\\n' '{"archive":"pack-q.zip","sha256":"${q.sha256}","size":${q.size},"stripComponents":1}' > "$m".tmp\nchmod 0644 "$m".tmp\nchown -- wso2 "$m".tmp\nmv -f -- "$m".tmp "$m"`,
  ]);
});

test('beforeReplace runs, quoted, only where an existing dest is moved aside', async () => {
  zipPack('pack-r');
  const q = await plan('packs/pack-r.zip', { dest: '/opt/wso2/node1', beforeReplace: ['/opt/wso2/node1/wso2is-test/bin/wso2server.sh', 'stop'] });
  const d = unarchiveModule.decide(q, { state: { ...STATE, cache: 'match' } }, context());
  const install = d.kind === 'change' && d.steps[1]?.kind === 'exec' ? d.steps[1].command.text : '';
  assert.match(install, /  else\n    \( \/opt\/wso2\/node1\/wso2is-test\/bin\/wso2server\.sh stop\n    \) < \/dev\/null\n    rm -rf -- "\$dest"\.previous; mv -- "\$dest" "\$dest"\.previous\n  fi/);
});

test('dry-run: later tasks see the members, the content of small text files, and the marker', async () => {
  zipPack('pack-dry');
  const dest = '/opt/wso2/dry';
  const p = await plan('packs/pack-dry.zip', { dest });
  const store = new EffectStore();
  // An earlier task made dest; a file it planned inside the old dest does not survive the unpack.
  store.record({ kind: 'path', path: dest, state: 'directory', fresh: true, mode: '0755' }, 'make dest');
  store.record({ kind: 'path', path: `${dest}/stale.txt`, state: 'file', content: Buffer.from('x') }, 'stale');
  const args = unarchiveModule.facts(p, context({ dryRun: true })).state.args as UnarchiveStateArgs;
  const refined = unarchiveStateFact.definition.refine!({ ...STATE, unzip: false }, args, store);
  assert.deepEqual(refined, { dest: 'directory', empty: true, mode: '0755', cache: 'absent', staging: 0, unzip: false, planned: '"make dest"' });
  store.record({ kind: 'package', name: 'unzip', installed: true }, 'packages');
  const decision = unarchiveModule.decide(p, { state: unarchiveStateFact.definition.refine!({ ...STATE, unzip: false }, args, store) as UnarchiveState }, context({ dryRun: true }));
  assert.equal(decision.kind, 'change');
  assert.match(decision.reason, /^\/opt\/wso2\/dry is empty; .* would be unpacked into it; upload [\d.]+ MB \(as "make dest" leaves it\)$/);
  for (const effect of decision.kind === 'change' ? decision.effects ?? [] : []) store.record(effect, 'unarchive');

  const conf = `${dest}/wso2is-test/repository/conf/deployment.toml`;
  const toml = fileFact.definition.fromEffects!({ path: conf, maxContent: 4 * 1024 * 1024 }, store);
  assert.deepEqual(toml, { path: conf, type: 'file', parent: 'directory', planned: '"unarchive"', owner: 'root', group: 'root', sha256: sha(TOML), content: Buffer.from(TOML), size: TOML.length, mode: '0644' });
  const big = `${dest}/wso2is-test/lib/big.bin`;
  assert.ok(fileFact.definition.fromEffects!({ path: big }, store) instanceof Unknowable);
  assert.deepEqual(fileFact.definition.fromEffects!({ path: big, maxContent: 0 }, store), { path: big, type: 'file', parent: 'directory', planned: '"unarchive"', mode: '0644', owner: 'root', group: 'root', size: BIG.length });
  const log = `${dest}/wso2is-test/repository/logs/wso2carbon.log`;
  assert.deepEqual(fileFact.definition.fromEffects!({ path: log }, store), { path: log, type: 'absent', parent: 'absent', planned: '"unarchive"' });
  assert.deepEqual(fileFact.definition.fromEffects!({ path: `${dest}/stale.txt` }, store), { path: `${dest}/stale.txt`, type: 'absent', parent: 'directory', planned: '"unarchive"' });
  assert.equal((fileFact.definition.fromEffects!({ path: `${dest}/wso2is-test/logs` }, store) as { type: string }).type, 'directory');

  // The same unpack again later in the run: the planned marker answers, no host asked.
  const again = unarchiveStateFact.definition.fromEffects!(args, store) as UnarchiveState;
  assert.deepEqual(unarchiveModule.decide(p, { state: again }, context({ dryRun: true })), {
    kind: 'noop',
    reason: `${dest} holds pack-dry.zip (sha256 ${short(p)}) (as "unarchive" leaves it)`,
  });
});

test('the state fact parses real output', () => {
  const args: UnarchiveStateArgs = { dest: '/opt/wso2/node1', sha256: 'a'.repeat(64), size: 10, cacheName: `${'a'.repeat(64)}.zip`, cacheDir: SYSTEM_CACHE };
  const marker = Buffer.from('{"archive":"wso2is-5.10.0.zip","sha256":"abcd","size":5,"stripComponents":0}\n').toString('base64');
  const output = `dest=directory\nstat=755 wso2 wso2\nmarker=${marker}\nstaging=1\ncache=mismatch\nunzip=no\navail=1843200\n`;
  assert.deepEqual(unarchiveStateFact.definition.parse(output, args), {
    dest: 'directory',
    empty: false,
    mode: '0755',
    owner: 'wso2',
    group: 'wso2',
    marker: { archive: 'wso2is-5.10.0.zip', sha256: 'abcd', size: 5, stripComponents: 0 },
    cache: 'mismatch',
    staging: 1,
    unzip: false,
    availKiB: 1843200,
  });
  const foreign = Buffer.from('not json').toString('base64');
  assert.deepEqual(unarchiveStateFact.definition.parse(`dest=directory\nstat=700 root root\nempty=yes\nmarker=${foreign}\nstaging=0\ncache=absent\nunzip=yes\navail=\n`, args), {
    dest: 'directory',
    empty: true,
    mode: '0700',
    owner: 'root',
    group: 'root',
    cache: 'absent',
    staging: 0,
    unzip: true,
  });
});

test('through the engine (local transport): upload by the transport, facts in one round trip, dry-run effects', async () => {
  const { runTask } = await import('../../src/engine/task-runner.js');
  const { localTransport } = await import('../../src/transport/local.js');
  const home = path.join(ROOT, 'engine-home');
  mkdirSync(home);
  const savedHome = process.env.HOME;
  process.env.HOME = home; // the local transport logs in "at home", as SSH does
  try {
    zipPack('pack-engine');
    const dest = path.join(ROOT, 'engine', 'node1');
    const task = unarchive({ src: 'packs/pack-engine.zip', dest });
    const host = { name: 'local', address: '127.0.0.1', groups: [], vars: {}, become: false, connection: { user: 'deploy', transport: 'local' } } as never;
    const plan = (await unarchiveModule.prepare!(task.options, prepareContext)) as UnarchivePlan;
    // PreparedTask grows with the engine: the test builds only what runTask reads.
    const prepared = { task, module: unarchiveModule, plan, name: 'unpack', notify: [], listen: [], handler: false } as never;
    const session = (dryRun: boolean, effects = new EffectStore()) => ({ host, transport: localTransport('local'), effects, nonce: 'n0nce', dryRun, now: new Date(), emit: () => undefined });

    const dry = session(true);
    const planned = await runTask(dry, prepared, {});
    assert.equal(planned.status, 'changed');
    assert.match(planned.reason, /would be unpacked from pack-engine\.zip/);
    const conf = `${dest}/wso2is-test/repository/conf/deployment.toml`;
    assert.deepEqual((fileFact.definition.fromEffects!({ path: conf }, dry.effects) as FileFact).content, Buffer.from(TOML));
    assert.equal(existsSync(dest), false);

    const applied = await runTask(session(false), prepared, {});
    assert.equal(applied.status, 'changed', applied.reason);
    assert.equal(readFileSync(conf, 'utf8'), TOML);
    assert.ok(existsSync(path.join(home, '.cache/is-provision', `${plan.sha256}.zip`)));
    assert.deepEqual(await runTask(session(false), prepared, {}), { status: 'ok', reason: `${dest} holds pack-engine.zip (sha256 ${short(plan)})` });
  } finally {
    process.env.HOME = savedHome;
  }
});

test('through sudo, a link left in place of the upload is refused before root chowns or chmods it', async () => {
  zipPack('pack-link');
  const dest = path.join(ROOT, 'opt', 'linked');
  const ctx = context({ become: true, loginUser: 'nobody' });
  const p = await plan('packs/pack-link.zip', { dest });
  const d = decide(p, ctx);
  const steps = d.kind === 'change' ? d.steps : [];
  apply(steps.slice(0, 1));
  const victim = path.join(ROOT, 'victim');
  writeFileSync(victim, 'secret', { mode: 0o600 });
  const up = steps[1]!;
  execFileSync('ln', ['-s', victim, rehome(up.kind === 'upload' ? up.to : '')]);
  assert.throws(() => apply(steps.slice(2, 3)), /the upload is not a plain file/);
  assert.equal(modeOf(victim), '0600');
});
