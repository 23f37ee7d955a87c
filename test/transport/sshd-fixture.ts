import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';

/** Why the real-sshd tests cannot run here, or undefined when they can. */
export function sshdUnavailable(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} not installed`;
  if (!existsSync('/usr/bin/ssh-keygen')) return 'ssh-keygen not installed';
  if (process.getuid?.() !== 0) return 'needs root to run a throwaway sshd';
  return undefined;
}

export function keygen(file: string, type = 'ed25519', passphrase = ''): { privateKey: string; publicLine: string } {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', passphrase, '-C', 'test', '-f', file], { stdio: 'ignore' });
  return { privateKey: file, publicLine: readFileSync(`${file}.pub`, 'utf8').trim() };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port}: ${log()}`);
}

/** Processes under `pid`, by depth (sshd forks a process per connection, which forks the shell...). */
function descendantLevels(pid: number): number[][] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 is the parent pid; the command name before it may hold spaces, so split after ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // Exited while we looked.
    }
  }
  const levels: number[][] = [];
  let current = [pid];
  while (current.length > 0) {
    const next = [...parents].filter(([, parent]) => current.includes(parent)).map(([child]) => child);
    if (next.length > 0) levels.push(next);
    current = next;
  }
  return levels;
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export interface Sshd {
  port: number;
  /** The host key's public line, "ssh-ed25519 AAAA... test". */
  hostKeyLine: string;
  log(): string;
  /** Kills the listener and every session process it forked, as a crash or reboot would. */
  kill(): Promise<void>;
}

export async function startSshd(dir: string, authorizedKeys: string[]): Promise<Sshd> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory
  mkdirSync(dir, { recursive: true });
  const hostKey = keygen(join(dir, 'host_ed25519'));
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, authorizedKeys.join('\n') + '\n', { mode: 0o600 });
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey.privateKey}`,
      'PidFile none',
      `AuthorizedKeysFile ${authorized}`,
      'StrictModes no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'AllowTcpForwarding yes',
      'Subsystem sftp internal-sftp',
      // sshd probes us every second: an idle test then proves ssh2 answers and nothing resets.
      'ClientAliveInterval 1',
      'ClientAliveCountMax 3',
      // SSHD_LOGLEVEL=DEBUG3 makes sshd.log() explain a failing test.
      `LogLevel ${process.env.SSHD_LOGLEVEL ?? 'ERROR'}`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child = spawn(SSHD, ['-D', '-e', '-f', config, '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const log = () => output;
  await waitForPort(port, child, log);
  return {
    port,
    hostKeyLine: hostKey.publicLine,
    log,
    async kill() {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      // Deepest first, giving each parent a moment to reap: a child outliving its parent would be
      // left to pid 1, which in a container may never reap it.
      for (const level of descendantLevels(child.pid).reverse()) {
        level.forEach(killPid);
        await new Promise((r) => setTimeout(r, 50));
      }
      killPid(child.pid);
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    },
  };
}
