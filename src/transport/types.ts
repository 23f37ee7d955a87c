/** What one command run on a host returned. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when the command was killed by a signal. */
  signal?: string;
}

export interface ExecOptions {
  /** Bytes written to the command's stdin, then stdin is closed. */
  stdin?: string | Buffer;
  /** Abort the command after this many milliseconds (exit code 124). */
  timeoutMs?: number;
}

export interface PutOptions {
  /** Octal mode string for the uploaded file, e.g. "0600". */
  mode?: string;
  /** Called as bytes go out: sent so far and the total. */
  onProgress?: (sent: number, total: number) => void;
}

/**
 * One connection to one host. `exec` never throws for a non-zero exit or for stderr output: the
 * caller reads `code`. It throws `TransportError` only when the connection itself fails.
 */
export interface Transport {
  readonly name: string;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Uploads a local file (path) or bytes to a remote path as the login user. */
  put(source: string | Buffer, remotePath: string, options?: PutOptions): Promise<void>;
  /** Downloads a remote file's bytes. */
  get(remotePath: string): Promise<Buffer>;
  close(): Promise<void>;
}

export type TransportErrorKind =
  | 'unreachable'
  | 'auth'
  | 'host-key-unknown'
  | 'host-key-changed'
  | 'disconnected'
  | 'io';

export class TransportError extends Error {
  readonly kind: TransportErrorKind;
  readonly host: string;
  constructor(kind: TransportErrorKind, host: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
    this.kind = kind;
    this.host = host;
  }
}
