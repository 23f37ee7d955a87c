import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../engine/errors.js';
import { displayPath } from '../util/display-path.js';

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The types playbooks check against: the built declarations, or the sources when run from them. */
const OWN_TYPES = import.meta.url.endsWith('.ts') ? path.join(PACKAGE_ROOT, 'src/index.ts') : path.join(PACKAGE_ROOT, 'dist/index.d.ts');
const CACHE_DIR = path.join(tmpdir(), 'is-provision-typecheck');

/** Used where the playbook has no tsconfig of its own. */
const DEFAULTS = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  esModuleInterop: true,
  types: [],
  lib: ['ES2023'],
};

function findConfig(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    const candidate = path.join(d, 'tsconfig.json');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(d) === d) return undefined;
  }
}

/**
 * The @types folders as tsc finds them from the playbook's own config: from the generated config in
 * a temp dir it would look beside that instead.
 */
function typeRoots(configDir: string): string[] {
  const roots: string[] = [];
  for (let d = configDir; ; d = path.dirname(d)) {
    const candidate = path.join(d, 'node_modules', '@types');
    if (existsSync(candidate)) roots.push(candidate);
    if (path.dirname(d) === d) return roots;
  }
}

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

interface CacheEntry {
  files: { path: string; sha256: string }[];
}

/** A playbook that passed before and whose files are all unchanged need not be checked again. */
function cachedPass(entryFile: string): boolean {
  try {
    const entry = JSON.parse(readFileSync(entryFile, 'utf8')) as CacheEntry;
    return entry.files.length > 0 && entry.files.every((f) => existsSync(f.path) && sha(readFileSync(f.path)) === f.sha256);
  } catch {
    return false;
  }
}

function remember(entryFile: string, files: string[]): void {
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    writeFileSync(entryFile, JSON.stringify({ files: files.map((f) => ({ path: f, sha256: sha(readFileSync(f)) })) } satisfies CacheEntry));
  } catch {
    // A cache that cannot be written only costs the next run a check.
  }
}

/** The first error of tsc's output as `file:line:col: message`, plus how many more there are. */
export function firstTypeError(output: string): string | undefined {
  const errors = output.split('\n').filter((l) => /\): error TS\d+: /.test(l));
  const first = /^(.*)\((\d+),(\d+)\): error TS\d+: (.*)$/.exec(errors[0] ?? '');
  if (!first) return undefined;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more type errors)` : '';
  return `${displayPath(path.resolve(first[1]!))}:${first[2]}:${first[3]}: ${first[4]}${more}`;
}

function tscCommand(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
}

/**
 * Type-checks a playbook and the local modules it imports against is-provision's own types (with its
 * own tsconfig where it has one), so a misspelt option or a wrong type stops the run before anything
 * runs. A pass is remembered until one of the checked files changes.
 */
export function typecheckPlaybook(file: string): void {
  const full = path.resolve(file);
  const userConfig = findConfig(path.dirname(full));
  const own = existsSync(OWN_TYPES) ? sha(readFileSync(OWN_TYPES)) : '';
  const entryFile = path.join(CACHE_DIR, `${sha(JSON.stringify([full, userConfig ?? '', own]))}.json`);
  if (cachedPass(entryFile)) return;
  const dir = mkdtempSync(path.join(tmpdir(), 'is-provision-tsc-'));
  try {
    const config = {
      ...(userConfig ? { extends: userConfig } : {}),
      compilerOptions: {
        ...(userConfig ? { typeRoots: typeRoots(path.dirname(userConfig)) } : DEFAULTS),
        noEmit: true,
        skipLibCheck: true,
        paths: { 'is-provision': [OWN_TYPES] },
      },
      files: [full],
    };
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
    const result = spawnSync(process.execPath, [tscCommand(), '-p', path.join(dir, 'tsconfig.json'), '--pretty', 'false', '--listFiles'], {
      cwd: path.dirname(full),
      encoding: 'utf8',
      timeout: 120_000,
    });
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
    if (result.status !== 0) {
      throw new UsageError(firstTypeError(output) ?? `${displayPath(full)}: type-check failed: ${output.trim().split('\n')[0] ?? result.error?.message}`);
    }
    const checked = output
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('/') && !l.includes('/node_modules/') && !l.startsWith(PACKAGE_ROOT + '/dist/') && !l.startsWith(PACKAGE_ROOT + '/src/'));
    remember(entryFile, checked.length > 0 ? checked : [full]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
