// Test-side API for the lab in scripts/lab.sh: Debian hosts reachable over real SSH.
// Everything here needs root, like the script; see labAvailable().
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, realpathSync, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const script = join(repoRoot, 'scripts', 'lab.sh');

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface LabHost {
  name: string;
  ip: string;
  root: string;
}

/** State dir of the lab; the same default as scripts/lab.sh. */
export function labDir(): string {
  return resolve(process.env.IS_PROVISION_LAB_DIR ?? join(repoRoot, '.lab'));
}

/** Merged (overlay) root filesystem of a host, as seen from the control machine. */
export function hostRoot(name: string): string {
  return join(labDir(), 'hosts', name, 'root');
}

/** Paths of the files `lab.sh up` writes for SSH clients. */
export function labFiles(): { sshConfig: string; knownHosts: string; identity: string; hostsJson: string } {
  const dir = labDir();
  return {
    sshConfig: join(dir, 'ssh_config'),
    knownHosts: join(dir, 'known_hosts'),
    identity: join(dir, 'id_ed25519'),
    hostsJson: join(dir, 'hosts.json'),
  };
}

/** Hosts of the running lab, from hosts.json. */
export function labHosts(): LabHost[] {
  return JSON.parse(readFileSync(labFiles().hostsJson, 'utf8')) as LabHost[];
}

/** True when this process can run the lab: root, and the tools scripts/lab.sh calls are installed. */
export function labAvailable(): boolean {
  if (process.getuid?.() !== 0) return false;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  const tools = ['debootstrap', 'ip', 'unshare', 'nsenter', 'chroot', 'ssh', 'ssh-keygen', 'apt-cacher-ng'];
  return tools.every((tool) => dirs.some((dir) => dir !== '' && existsSync(join(dir, tool))));
}

function run(args: string[], stdin?: string): Promise<ExecResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolvePromise({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.end(stdin ?? '');
  });
}

async function runOrThrow(args: string[]): Promise<void> {
  const result = await run(args);
  if (result.code !== 0) {
    throw new Error(`scripts/lab.sh ${args.join(' ')} failed (exit ${result.code}):\n${result.stderr}${result.stdout}`);
  }
}

/** Tears down whatever is up, then starts these hosts fresh, e.g. `{ lb: '10.231.0.11' }`. */
export async function labUp(hosts: Record<string, string>): Promise<void> {
  await runOrThrow(['up', ...Object.entries(hosts).map(([name, ip]) => `${name}=${ip}`)]);
}

export async function labDown(): Promise<void> {
  await runOrThrow(['down']);
}

/** Discards the host's filesystem changes and restarts it; host keys stay the same. */
export async function labReset(name: string): Promise<void> {
  await runOrThrow(['reset', name]);
}

/** Runs `sh -c CMD` as root inside the host (not over SSH). Never rejects on a non-zero exit. */
export async function labExec(name: string, cmd: string, stdin?: string): Promise<ExecResult> {
  return run(['exec', name, '--', '/bin/sh', '-c', cmd], stdin);
}

// Paths (relative to the host's root) that an SSH login or `sudo` rewrites on
// its own. Excluded from snapshots so "log in and look" counts as no change.
// Keep this list to what a login really touches; /run (utmp, sudo timestamps,
// sshd pid, motd) is a tmpfs inside each host and never reaches the upper dir.
const SNAPSHOT_EXCLUDES: ReadonlyArray<{ pattern: RegExp; why: string }> = [
  { pattern: /^var\/log\/wtmp$/, why: 'sshd appends a record for every session' },
  { pattern: /^var\/log\/btmp$/, why: 'sshd appends a record for every failed login' },
  { pattern: /^var\/log\/lastlog$/, why: 'sshd stores the last login time per user' },
  { pattern: /^var\/log\/auth\.log$/, why: 'sshd/sudo log each login, once a test has installed a syslog daemon' },
  {
    pattern: /^(root|home\/[^/]+)\/\.sudo_as_admin_successful$/,
    why: "Debian's sudo creates it on the first sudo by a member of group sudo (alice)",
  },
];

function isExcluded(rel: string): boolean {
  return SNAPSHOT_EXCLUDES.some(({ pattern }) => pattern.test(rel));
}

function describeMeta(kind: string, st: Stats): string {
  return `${kind} ${(st.mode & 0o7777).toString(8).padStart(4, '0')} ${st.uid}:${st.gid}`;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolvePromise(hash.digest('hex')));
  });
}

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return null;
    }
    throw error;
  }
}

function isMounted(path: string): boolean {
  if (!existsSync(path)) return false;
  const real = realpathSync(path);
  const decode = (field: string) => field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => decode(line.split(' ')[4] ?? '') === real);
}

/**
 * Everything the host's filesystem holds that differs from the base image:
 * relative path -> "KIND MODE UID:GID PAYLOAD" (sha256 for files, target for
 * symlinks, "deleted" for removed base files). Built from the overlay's upper dir.
 */
export async function snapshotHost(name: string): Promise<Map<string, string>> {
  const hostDir = join(labDir(), 'hosts', name);
  const upper = join(hostDir, 'upper');
  const lower = join(labDir(), 'base');
  const merged = hostRoot(name);
  // Whiteouts cover single deletions; a directory removed and recreated is
  // "opaque" instead, which only shows as base entries missing from the merged view.
  const canSeeMerged = isMounted(merged);
  const entries: Array<[string, string]> = [];

  async function walk(rel: string): Promise<void> {
    const names = (await readdir(join(upper, rel))).sort();
    for (const entry of names) {
      const childRel = rel === '' ? entry : `${rel}/${entry}`;
      if (isExcluded(childRel)) continue;
      const path = join(upper, childRel);
      const st = await lstat(path);
      if (st.isDirectory()) {
        const base = await lstatOrNull(join(lower, childRel));
        // A directory copied up only because something below it changed is not itself a change.
        const copiedUp = base !== null && base.isDirectory() && describeMeta('dir', base) === describeMeta('dir', st);
        if (!copiedUp) entries.push([childRel, describeMeta('dir', st)]);
        if (base?.isDirectory() && canSeeMerged) await findHidden(childRel, new Set(await readdir(path)));
        await walk(childRel);
      } else if (st.isCharacterDevice() && st.rdev === 0) {
        entries.push([childRel, 'deleted']);
      } else if (st.isSymbolicLink()) {
        entries.push([childRel, `${describeMeta('symlink', st)} -> ${await readlink(path)}`]);
      } else if (st.isFile()) {
        entries.push([childRel, `${describeMeta('file', st)} sha256:${await sha256File(path)}`]);
      } else {
        const kind = st.isCharacterDevice() ? 'chardev' : st.isBlockDevice() ? 'blockdev' : st.isFIFO() ? 'fifo' : 'socket';
        entries.push([childRel, `${describeMeta(kind, st)} rdev:${st.rdev}`]);
      }
    }
  }

  async function findHidden(rel: string, inUpper: Set<string>): Promise<void> {
    for (const entry of await readdir(join(lower, rel))) {
      const childRel = `${rel}/${entry}`;
      if (inUpper.has(entry) || isExcluded(childRel)) continue;
      if ((await lstatOrNull(join(merged, childRel))) === null) entries.push([childRel, 'deleted']);
    }
  }

  await walk('');
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new Map(entries);
}

/** Paths whose snapshot entry was added, removed or changed between a and b, sorted. */
export function diffSnapshots(a: Map<string, string>, b: Map<string, string>): string[] {
  const paths = new Set([...a.keys(), ...b.keys()]);
  return [...paths].filter((path) => a.get(path) !== b.get(path)).sort();
}
