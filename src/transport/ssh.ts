import { constants } from 'node:os';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import type { ConnectionSettings } from '../inventory/types.js';
import { Semaphore } from './semaphore.js';
import { download, parseMode, upload } from './sftp.js';
import { endpoint, openChain } from './ssh-connect.js';
import { TransportError, type ExecOptions, type ExecResult, type PutOptions, type Transport } from './types.js';

/** sshd's MaxSessions defaults to 10; staying at 8 (the SFTP session included) leaves room for a stricter server. */
export const MAX_CHANNELS = 8;
const CLOSE_GRACE_MS = 3000;

/**
 * Opens the one connection used for a host for the whole run, through its jump hosts if any.
 * Rejects with TransportError ('unreachable', 'auth', 'host-key-unknown', 'host-key-changed', 'io').
 */
export async function connectSsh(hostName: string, settings: ConnectionSettings): Promise<Transport> {
  const clients = await openChain(hostName, settings);
  return new SshTransport(hostName, settings, clients);
}

function exitCode(code: number | null | undefined, signal: string | undefined): number {
  if (typeof code === 'number') return code;
  const number = signal ? constants.signals[signal as keyof typeof constants.signals] : undefined;
  // No status and no known signal: the channel went away without a verdict, which ssh reports as 255.
  return number === undefined ? 255 : 128 + number;
}

/** Channel.signal() refuses once stdin is closed, though the protocol allows it; we always close stdin first. */
function sendSignal(client: Client, stream: ClientChannel, name: string): void {
  const internal = client as unknown as { _protocol?: { signal(id: number, name: string): void } };
  const outgoing = (stream as unknown as { outgoing?: { id: number; state: string } }).outgoing;
  try {
    if (outgoing?.state === 'open' || outgoing?.state === 'eof') internal._protocol?.signal(outgoing.id, name);
  } catch {
    // Best effort: closing the channel below still frees it.
  }
}

class SshTransport implements Transport {
  private readonly client: Client;
  private readonly channels = new Semaphore(MAX_CHANNELS);
  private readonly pending = new Set<(error: TransportError) => void>();
  private sftp: Promise<SFTPWrapper> | undefined;
  private lost: TransportError | undefined;
  private lastError: Error | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly settings: ConnectionSettings,
    private readonly clients: Client[],
  ) {
    this.client = clients[clients.length - 1] as Client;
    for (const client of clients) {
      // Recorded only to explain the disconnect; the 'close' that follows does the work.
      client.on('error', (error: Error) => {
        this.lastError ??= error;
      });
    }
    this.client.once('close', () => this.onClose());
    for (const jump of clients.slice(0, -1)) jump.once('close', () => this.client.destroy());
  }

  private onClose(): void {
    this.closed = true;
    if (!this.lost) {
      const why = this.lastError ? ` (${this.lastError.message})` : '';
      this.lost = new TransportError(
        'disconnected',
        this.name,
        `${this.name}: connection to ${endpoint(this.settings)} lost${why}`,
        { cause: this.lastError },
      );
    }
    for (const reject of this.pending) reject(this.lost);
    this.pending.clear();
    for (const jump of this.clients.slice(0, -1)) jump.end();
  }

  /** Rejects `reject` with the connection's loss if it happens first; call the result once settled. */
  private watch(reject: (error: TransportError) => void): () => void {
    this.pending.add(reject);
    return () => this.pending.delete(reject);
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const release = await this.channels.acquire();
    try {
      return await this.run(command, options, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  /** `release` frees the channel slot once the server has really closed the channel. */
  private run(command: string, options: ExecOptions, release: () => void): Promise<ExecResult> {
    if (this.lost) return Promise.reject(this.lost);
    return new Promise<ExecResult>((resolve, reject) => {
      let settled = false;
      const settle = (result: ExecResult | TransportError) => {
        if (settled) return;
        settled = true;
        unwatch();
        if (result instanceof TransportError) reject(result);
        else resolve(result);
      };
      const unwatch = this.watch((error) => settle(error));
      const opened = (error: Error | undefined, stream: ClientChannel) => {
        if (error) {
          settle(this.lost ?? new TransportError('io', this.name, `${this.name}: cannot open a session: ${error.message}`, { cause: error }));
          return;
        }
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        const text = () => ({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
        let code: number | null | undefined;
        let signal: string | undefined;
        let timer: NodeJS.Timeout | undefined;
        stream.on('data', (chunk: Buffer) => stdout.push(chunk));
        stream.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        // A channel error ends in 'close', handled below; unheard, it would crash the process.
        stream.on('error', () => undefined);
        stream.stderr.on('error', () => undefined);
        stream.on('exit', (exitStatus: number | null, exitSignal?: string) => {
          code = exitStatus;
          signal = exitSignal;
        });
        stream.on('close', () => {
          clearTimeout(timer);
          release();
          if (code === undefined && signal === undefined && this.lost) return settle(this.lost);
          const result: ExecResult = { code: exitCode(code, signal), ...text() };
          if (signal) result.signal = signal;
          settle(result);
        });
        if (options.timeoutMs !== undefined) {
          timer = setTimeout(() => {
            // Answer now, like timeout(1); the slot stays taken until the server closes the channel.
            sendSignal(this.client, stream, 'KILL');
            stream.close();
            settle({ code: 124, ...text() });
          }, options.timeoutMs);
        }
        // Always send EOF, even with nothing to say, so a command that reads stdin does not wait forever.
        stream.end(options.stdin ?? '');
      };
      try {
        this.client.exec(command, opened);
      } catch (error) {
        settle(this.lost ?? new TransportError('disconnected', this.name, `${this.name}: ${(error as Error).message}`, { cause: error }));
      }
    });
  }

  /** One SFTP session per connection, opened on first use and holding one of the channel slots. */
  private session(): Promise<SFTPWrapper> {
    if (this.sftp) return this.sftp;
    const opening = (async () => {
      const release = await this.channels.acquire();
      return new Promise<SFTPWrapper>((resolve, reject) => {
        if (this.lost) {
          release();
          return reject(this.lost);
        }
        const unwatch = this.watch(reject);
        try {
          this.client.sftp((error, sftp) => {
            unwatch();
            if (error) {
              release();
              if (this.sftp === opening) this.sftp = undefined;
              reject(this.lost ?? new TransportError('io', this.name, `${this.name}: cannot start SFTP: ${error.message}`, { cause: error }));
              return;
            }
            sftp.on('error', () => undefined);
            sftp.once('close', () => {
              release();
              if (this.sftp === opening) this.sftp = undefined;
            });
            resolve(sftp);
          });
        } catch (error) {
          unwatch();
          release();
          reject(this.lost ?? new TransportError('disconnected', this.name, `${this.name}: ${(error as Error).message}`));
        }
      });
    })();
    this.sftp = opening;
    return opening;
  }

  private async file<T>(what: string, operation: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    if (this.lost) throw this.lost;
    const sftp = await this.session();
    return new Promise<T>((resolve, reject) => {
      if (this.lost) return reject(this.lost);
      const unwatch = this.watch(reject);
      operation(sftp).then(
        (value) => {
          unwatch();
          resolve(value);
        },
        (error: Error) => {
          unwatch();
          reject(this.lost ?? new TransportError('io', this.name, `${this.name}: ${what}: ${error.message}`, { cause: error }));
        },
      );
    });
  }

  async put(source: string | Buffer, remotePath: string, options: PutOptions = {}): Promise<void> {
    const mode = options.mode === undefined ? undefined : parseMode(options.mode);
    await this.file(`cannot upload to ${remotePath}`, (sftp) => upload(sftp, source, remotePath, mode, options.onProgress));
  }

  get(remotePath: string): Promise<Buffer> {
    return this.file(`cannot read ${remotePath}`, (sftp) => download(sftp, remotePath));
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.lost ??= new TransportError('disconnected', this.name, `${this.name}: the connection was closed`);
      const done = () => {
        clearTimeout(timer);
        for (const client of this.clients) client.destroy();
        resolve();
      };
      // A server that never answers our goodbye must not hold the run open.
      const timer = setTimeout(done, CLOSE_GRACE_MS);
      timer.unref();
      if (this.closed) return done();
      this.client.once('close', done);
      this.client.end();
    });
    return this.closing;
  }
}
