import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { constants, homedir } from 'node:os';
import { resolve } from 'node:path';
import { parseMode } from './sftp.js';
import { TransportError, type ExecOptions, type ExecResult, type PutOptions, type Transport } from './types.js';

/**
 * The Transport interface on this machine, for `transport = "local"`. It behaves like an SSH login:
 * commands start in the home directory and relative paths are relative to it.
 */
export function localTransport(name: string): Transport {
  const home = homedir();
  const running = new Set<number>();
  let closed = false;

  const ensureOpen = () => {
    if (closed) throw new TransportError('disconnected', name, `${name}: the connection was closed`);
  };

  const killGroup = (pid: number) => {
    try {
      // The command runs in its own process group, so `sh -c 'a | b'` dies whole, not just sh.
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };

  const exec = async (command: string, options: ExecOptions = {}): Promise<ExecResult> => {
    ensureOpen();
    return new Promise<ExecResult>((resolvePromise, reject) => {
      const child = spawn('sh', ['-c', command], { cwd: home, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      if (child.pid !== undefined) running.add(child.pid);
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      // A command that exits without reading its stdin makes our write fail with EPIPE; that is its business.
      child.stdin.on('error', () => undefined);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new TransportError('io', name, `${name}: cannot run sh: ${error.message}`, { cause: error }));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (child.pid !== undefined) running.delete(child.pid);
        const result: ExecResult = {
          code: 0,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        };
        if (timedOut) {
          result.code = 124;
        } else if (typeof code === 'number') {
          result.code = code;
        } else {
          const number = signal ? constants.signals[signal] : undefined;
          result.code = number === undefined ? 255 : 128 + number;
          if (signal) result.signal = signal;
        }
        resolvePromise(result);
      });
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          timedOut = true;
          if (child.pid !== undefined) killGroup(child.pid);
        }, options.timeoutMs);
      }
      child.stdin.end(options.stdin ?? '');
    });
  };

  const ioError = (what: string, error: unknown) =>
    new TransportError('io', name, `${name}: ${what}: ${(error as Error).message}`, { cause: error });

  const put = async (source: string | Buffer, remotePath: string, options: PutOptions = {}): Promise<void> => {
    ensureOpen();
    const mode = options.mode === undefined ? undefined : parseMode(options.mode);
    const target = resolve(home, remotePath);
    try {
      const total = typeof source === 'string' ? (await stat(source)).size : source.length;
      const file = await open(target, 'w', mode ?? 0o666);
      try {
        // Set the mode before writing, as the SSH transport does, so an existing wider file never holds the new bytes.
        if (mode !== undefined) await file.chmod(mode);
        let sent = 0;
        if (typeof source === 'string') {
          for await (const chunk of createReadStream(source, { highWaterMark: 256 * 1024 })) {
            await file.writeFile(chunk as Buffer);
            sent += (chunk as Buffer).length;
            options.onProgress?.(sent, total);
          }
          if (sent === 0) options.onProgress?.(0, 0);
        } else {
          await file.writeFile(source);
          options.onProgress?.(source.length, total);
        }
      } finally {
        await file.close();
      }
    } catch (error) {
      throw ioError(`cannot upload to ${remotePath}`, error);
    }
  };

  const get = async (remotePath: string): Promise<Buffer> => {
    ensureOpen();
    try {
      return await readFile(resolve(home, remotePath));
    } catch (error) {
      throw ioError(`cannot read ${remotePath}`, error);
    }
  };

  const close = async (): Promise<void> => {
    closed = true;
    for (const pid of running) killGroup(pid);
    running.clear();
  };

  return { name, exec, put, get, close };
}
