import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, chmodSync, symlinkSync, realpathSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { fileFact, type FileFact, type FileFactArgs } from '../../src/facts/file.js';
import { fileFactHere } from './local-fact.js';

const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const OWNER = userInfo().username;
const GROUP = execFileSync('id', ['-gn']).toString().trim();
const ROOT = realpathSync(mkdtempSync(path.join(tmpdir(), 'is-provision-fact-')));
const BINARY = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));

let counter = 0;
/** A fresh directory per case, so that cases do not see each other's files. */
function dir(): string {
  const d = path.join(ROOT, `case-${++counter}`);
  mkdirSync(d);
  return d;
}

function file(d: string, name: string, content: string | Buffer, mode = 0o644): string {
  const p = path.join(d, name);
  writeFileSync(p, content);
  chmodSync(p, mode);
  return p;
}

interface Case {
  name: string;
  /** Makes the path to ask about, in a fresh directory. */
  setup: (d: string) => string;
  args?: Partial<FileFactArgs>;
  /** The expected fact; `size: -1` means "some number" (directories). */
  expected: (p: string) => FileFact;
  asUser?: number;
  cwd?: (d: string) => string;
}

const fileOf = (p: string, content: string | Buffer, mode: string, extra: Partial<FileFact> = {}): FileFact => ({
  path: p,
  type: 'file',
  parent: 'directory',
  mode,
  owner: OWNER,
  group: GROUP,
  size: Buffer.byteLength(content),
  sha256: sha(content),
  content: Buffer.from(content),
  ...extra,
});

const CASES: Case[] = [
  { name: 'regular text file', setup: (d) => file(d, 'a.conf', 'hello\nworld\n', 0o640), expected: (p) => fileOf(p, 'hello\nworld\n', '0640') },
  { name: 'empty file', setup: (d) => file(d, 'empty', ''), expected: (p) => fileOf(p, '', '0644') },
  { name: 'no trailing newline', setup: (d) => file(d, 'nonl', 'last line'), expected: (p) => fileOf(p, 'last line', '0644') },
  { name: 'binary file with NULs and every byte', setup: (d) => file(d, 'bin', BINARY), expected: (p) => fileOf(p, BINARY, '0644') },
  {
    name: 'path with spaces, quotes and $(...)',
    setup: (d) => file(d, `it's a "file" $(touch pwned) \`x\`;`, 'x'),
    expected: (p) => fileOf(p, 'x', '0644'),
  },
  { name: 'unicode name', setup: (d) => file(d, 'ünï ✓', 'u'), expected: (p) => fileOf(p, 'u', '0644') },
  { name: 'setuid mode', setup: (d) => file(d, 'suid', 's', 0o4755), expected: (p) => fileOf(p, 's', '4755') },
  { name: 'mode with no bits', setup: (d) => file(d, 'none', 'n', 0o000), expected: (p) => fileOf(p, 'n', '0000') },
  {
    name: 'content larger than maxContent: sha256 but no content',
    setup: (d) => file(d, 'big', '0123456789'),
    args: { maxContent: 9 },
    expected: (p) => {
      const { content: _c, ...rest } = fileOf(p, '0123456789', '0644');
      return rest;
    },
  },
  { name: 'content exactly maxContent', setup: (d) => file(d, 'edge', '0123456789'), args: { maxContent: 10 }, expected: (p) => fileOf(p, '0123456789', '0644') },
  {
    name: 'maxContent 0 never reads a non-empty file',
    setup: (d) => file(d, 'zero', 'data'),
    args: { maxContent: 0 },
    expected: (p) => {
      const { content: _c, ...rest } = fileOf(p, 'data', '0644');
      return rest;
    },
  },
  {
    name: 'directory',
    setup: (d) => {
      const p = path.join(d, 'sub dir');
      mkdirSync(p);
      chmodSync(p, 0o750);
      return p;
    },
    expected: (p) => ({ path: p, type: 'directory', parent: 'directory', mode: '0750', owner: OWNER, group: GROUP, size: -1 }),
  },
  { name: 'absent, parent exists', setup: (d) => path.join(d, 'missing'), expected: (p) => ({ path: p, type: 'absent', parent: 'directory' }) },
  { name: 'absent, parent absent', setup: (d) => path.join(d, 'no', 'such'), expected: (p) => ({ path: p, type: 'absent', parent: 'absent' }) },
  {
    name: 'absent, parent is a file',
    setup: (d) => path.join(file(d, 'plain', 'x'), 'child'),
    expected: (p) => ({ path: p, type: 'absent', parent: 'other' }),
  },
  {
    name: 'dangling symlink',
    setup: (d) => {
      const p = path.join(d, 'dangling');
      symlinkSync(path.join(d, 'nowhere'), p);
      return p;
    },
    expected: (p) => ({ path: p, type: 'link', parent: 'directory', mode: '0777', owner: OWNER, group: GROUP, size: path.join(path.dirname(p), 'nowhere').length }),
  },
  {
    name: 'symlink to a file is followed',
    setup: (d) => {
      file(d, 'target', 'via link', 0o600);
      const p = path.join(d, 'link');
      symlinkSync('target', p);
      return p;
    },
    expected: (p) => fileOf(p, 'via link', '0600'),
  },
  {
    name: 'symlink to a directory is followed',
    setup: (d) => {
      mkdirSync(path.join(d, 'real'), { mode: 0o755 });
      chmodSync(path.join(d, 'real'), 0o755);
      const p = path.join(d, 'dirlink');
      symlinkSync('real', p);
      return p;
    },
    expected: (p) => ({ path: p, type: 'directory', parent: 'directory', mode: '0755', owner: OWNER, group: GROUP, size: -1 }),
  },
  {
    name: 'fifo is "other"',
    setup: (d) => {
      const p = path.join(d, 'fifo');
      execFileSync('mkfifo', ['-m', '0600', p]);
      return p;
    },
    expected: (p) => ({ path: p, type: 'other', parent: 'directory', mode: '0600', owner: OWNER, group: GROUP, size: 0 }),
  },
  {
    name: 'relative path starting with "-"',
    setup: (d) => {
      file(d, '-rf', 'dash');
      return '-rf';
    },
    cwd: (d) => d,
    expected: (p) => fileOf(p, 'dash', '0644'),
  },
];

// A file the login user cannot read: no content at all, rather than the content of an empty file.
if (process.getuid?.() === 0 && hasSetpriv()) {
  CASES.push({
    name: 'unreadable file (as nobody): neither sha256 nor content',
    setup: (d) => {
      chmodSync(d, 0o755);
      chmodSync(ROOT, 0o755);
      return file(d, 'secret', 'private data', 0o600);
    },
    asUser: 65534,
    expected: (p) => ({ path: p, type: 'file', parent: 'directory', mode: '0600', owner: OWNER, group: GROUP, size: 12 }),
  });
}

function hasSetpriv(): boolean {
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

for (const c of CASES) {
  test(`fileFact run locally: ${c.name}`, () => {
    const d = dir();
    const p = c.setup(d);
    const args: FileFactArgs = { path: p, ...c.args };
    const fact = fileFactHere(args, { ...(c.cwd ? { cwd: c.cwd(d) } : {}), ...(c.asUser !== undefined ? { asUser: c.asUser } : {}) });
    const expected = c.expected(p);
    if (expected.size === -1) {
      assert.equal(typeof fact.size, 'number');
      expected.size = fact.size;
    }
    assert.deepEqual(fact, expected);
  });
}

test('fileFact: the command quotes the path and the limit', () => {
  const text = fileFact.definition.command({ path: "/tmp/a b'c", maxContent: 7 }).text;
  assert.ok(text.startsWith(`p='/tmp/a b'\\''c'\n`), text);
  assert.match(text, / -le 7 \]/);
  assert.match(fileFact.definition.command({ path: '/x' }).text, / -le 1048576 \]/);
});

test('fileFact: the fact call carries its definition and args', () => {
  const call = fileFact({ path: '/etc/hosts' });
  assert.equal(call.fact, fileFact.definition);
  assert.equal(call.fact.id, 'file');
  assert.deepEqual(call.args, { path: '/etc/hosts' });
});

const PARSE_CASES: { name: string; stdout: string; expected: FileFact }[] = [
  { name: 'nothing at all reads as absent', stdout: '', expected: { path: '/p', type: 'absent', parent: 'absent' } },
  {
    name: 'three-digit mode is padded',
    stdout: 'type=file\nparent=directory\nstat=644 app staff 3\nsha256=abc\ncontent=eHl6\n',
    expected: { path: '/p', type: 'file', parent: 'directory', mode: '0644', owner: 'app', group: 'staff', size: 3, sha256: 'abc', content: Buffer.from('xyz') },
  },
  {
    name: 'empty content line is an empty file',
    stdout: 'type=file\nparent=directory\nstat=600 a b 0\nsha256=e3\ncontent=\n',
    expected: { path: '/p', type: 'file', parent: 'directory', mode: '0600', owner: 'a', group: 'b', size: 0, sha256: 'e3', content: Buffer.alloc(0) },
  },
  {
    name: 'absent ignores a stat line',
    stdout: 'type=absent\nparent=other\nstat=644 a b 1\n',
    expected: { path: '/p', type: 'absent', parent: 'other' },
  },
];

for (const c of PARSE_CASES) {
  test(`fileFact parse: ${c.name}`, () => {
    assert.deepEqual(fileFact.definition.parse(c.stdout, { path: '/p' }), c.expected);
  });
}

after(() => rmSync(ROOT, { recursive: true, force: true }));
