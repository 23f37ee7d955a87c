import { open as openLocal, type FileHandle } from 'node:fs/promises';
import type { SFTPWrapper } from 'ssh2';

/** 32 KiB per write is what every SFTP server accepts; 32 of them in flight keep a WAN link busy. */
const CHUNK = 32 * 1024;
const WINDOW = 32;

export function parseMode(mode: string): number {
  if (!/^[0-7]{3,4}$/.test(mode)) throw new TypeError(`invalid file mode ${JSON.stringify(mode)} (expected octal like "0644")`);
  return parseInt(mode, 8);
}

function call<T>(run: (done: (error: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));
}

function ignore(): void {}

/**
 * Writes a local file or bytes to a remote path. The mode is set on the open handle before any
 * byte is written, so a secret never sits in a file more readable than asked for, whatever the
 * server's umask or the mode of a file being overwritten.
 */
export async function upload(
  sftp: SFTPWrapper,
  source: string | Buffer,
  remotePath: string,
  mode: number | undefined,
  onProgress?: (sent: number, total: number) => void,
): Promise<void> {
  let local: FileHandle | undefined;
  let total: number;
  if (typeof source === 'string') {
    local = await openLocal(source, 'r');
    total = (await local.stat()).size;
  } else {
    total = source.length;
  }
  try {
    const attrs = mode === undefined ? {} : { mode };
    const handle = await call<Buffer>((done) => sftp.open(remotePath, 'w', attrs, done));
    let fchmodFailed = false;
    try {
      if (mode !== undefined) {
        // Some servers lack fsetstat; they get a chmod by path after the data is in.
        await call<void>((done) => sftp.fchmod(handle, mode, (e) => done(e, undefined))).catch(() => {
          fchmodFailed = true;
        });
      }
      await pipeline(sftp, handle, total, (offset, length) => readChunk(source, local, offset, length), onProgress);
    } finally {
      await call<void>((done) => sftp.close(handle, (e) => done(e, undefined))).catch(ignore);
    }
    if (fchmodFailed && mode !== undefined) {
      await call<void>((done) => sftp.chmod(remotePath, mode, (e) => done(e, undefined)));
    }
  } finally {
    await local?.close();
  }
}

async function readChunk(source: string | Buffer, local: FileHandle | undefined, offset: number, length: number): Promise<Buffer> {
  if (typeof source !== 'string') return source.subarray(offset, offset + length);
  const buffer = Buffer.allocUnsafe(length);
  const { bytesRead } = await (local as FileHandle).read(buffer, 0, length, offset);
  return buffer.subarray(0, bytesRead);
}

/** Keeps up to WINDOW writes in flight: SFTP writes carry their offset, so they may complete in any order. */
async function pipeline(
  sftp: SFTPWrapper,
  handle: Buffer,
  total: number,
  read: (offset: number, length: number) => Promise<Buffer>,
  onProgress?: (sent: number, total: number) => void,
): Promise<void> {
  let sent = 0;
  let failed: Error | undefined;
  const inflight = new Set<Promise<void>>();
  let offset = 0;
  while (offset < total && !failed) {
    const chunk = await read(offset, Math.min(CHUNK, total - offset));
    if (chunk.length === 0) break; // the local file shrank while we read it
    const at = offset;
    offset += chunk.length;
    const write = call<void>((done) => sftp.write(handle, chunk, 0, chunk.length, at, (e) => done(e, undefined))).then(
      () => {
        sent += chunk.length;
        onProgress?.(sent, total);
      },
      (error: Error) => {
        failed ??= error;
      },
    );
    const tracked = write.finally(() => inflight.delete(tracked));
    inflight.add(tracked);
    if (inflight.size >= WINDOW) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  if (failed) throw failed;
  if (total === 0) onProgress?.(0, 0);
}

export function download(sftp: SFTPWrapper, remotePath: string): Promise<Buffer> {
  return call<Buffer>((done) => sftp.readFile(remotePath, done));
}
