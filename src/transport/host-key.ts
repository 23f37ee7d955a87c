import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HostKeyChecking } from '../inventory/types.js';
import { checkHostKey, knownHostsLine, knownHostsName, knownKeyTypes, type HostKeyCheck } from './known-hosts.js';
import { TransportError } from './types.js';

/** The part of ConnectionSettings host key checking needs. */
export interface HostKeyTarget {
  address: string;
  port: number;
  knownHosts: string;
  hostKeyChecking: HostKeyChecking;
}

export interface HostKeyInfo {
  keyType: string;
  keyBase64: string;
  /** As ssh prints it: `SHA256:` and unpadded base64. */
  fingerprint: string;
}

/** Reads the key type out of a public key in SSH wire format (a length-prefixed type name comes first). */
export function parseHostKeyBlob(blob: Buffer): HostKeyInfo {
  if (blob.length < 4) throw new Error('host key blob too short');
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > blob.length) throw new Error('malformed host key blob');
  const keyType = blob.subarray(4, 4 + length).toString('latin1');
  const digest = createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
  return { keyType, keyBase64: blob.toString('base64'), fingerprint: `SHA256:${digest}` };
}

async function readKnownHosts(hostName: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new TransportError('io', hostName, `${hostName}: cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Key types already on file for the target, best first, to offer them first in the handshake. */
export async function knownHostKeyTypes(hostName: string, target: HostKeyTarget): Promise<string[]> {
  const text = await readKnownHosts(hostName, target.knownHosts);
  return knownKeyTypes(text, target.address.toLowerCase(), target.port);
}

// One queue for every known_hosts write in this process: two hosts accepted at once must not
// interleave their appends, and the same host reached twice must not be added twice.
let writes: Promise<unknown> = Promise.resolve();
function serialized<T>(task: () => Promise<T>): Promise<T> {
  const run = writes.then(task, task);
  writes = run.catch(() => undefined);
  return run;
}

function shellArg(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

function refusal(
  hostName: string,
  label: string,
  target: HostKeyTarget,
  info: HostKeyInfo,
  check: Exclude<HostKeyCheck, { kind: 'match' }>,
): TransportError {
  const name = knownHostsName(target.address.toLowerCase(), target.port);
  const key = `host key for ${name} (${info.keyType} ${info.fingerprint})`;
  const file = target.knownHosts;
  const removal = `ssh-keygen -f ${shellArg(file)} -R ${shellArg(name)}`;
  if (check.kind === 'changed') {
    return new TransportError(
      'host-key-changed',
      hostName,
      `${label}: ${key} does not match ${file} line ${check.line}; ` +
        `if the host was rebuilt, remove that line (${removal}), otherwise someone may be intercepting the connection`,
    );
  }
  if (check.kind === 'revoked') {
    return new TransportError(
      'host-key-changed',
      hostName,
      `${label}: ${key} is marked @revoked in ${file} line ${check.line}; refusing to connect`,
    );
  }
  const others = check.otherKeys.map((k) => `${k.keyType} at line ${k.line}`).join(', ');
  const note = others ? ` (the file has other key types for it: ${others})` : '';
  const keyscan = `ssh-keyscan -p ${target.port} ${shellArg(target.address)} >> ${shellArg(file)}`;
  return new TransportError(
    'host-key-unknown',
    hostName,
    `${label}: ${key} is not in ${file}${note}; check the fingerprint and add it (${keyscan}), ` +
      `or set host_key_checking = "accept-new"`,
  );
}

/**
 * Accepts or refuses a server's host key. Resolves with whether the key was already known or has
 * just been added (accept-new); rejects with TransportError otherwise. `label` prefixes messages
 * (e.g. to say a jump host is meant); `hostName` is the inventory host the error belongs to.
 */
export async function verifyHostKey(
  hostName: string,
  target: HostKeyTarget,
  blob: Buffer,
  label: string = hostName,
): Promise<'known' | 'added'> {
  const info = parseHostKeyBlob(blob);
  const address = target.address.toLowerCase();
  const check = async (): Promise<HostKeyCheck> =>
    checkHostKey(await readKnownHosts(hostName, target.knownHosts), address, target.port, info.keyType, info.keyBase64);

  const first = await check();
  if (first.kind === 'match') return 'known';
  if (first.kind !== 'unknown' || target.hostKeyChecking !== 'accept-new') {
    throw refusal(hostName, label, target, info, first);
  }
  return serialized(async () => {
    // Look again inside the queue: another connection may have added this host meanwhile.
    const text = await readKnownHosts(hostName, target.knownHosts);
    const again = checkHostKey(text, address, target.port, info.keyType, info.keyBase64);
    if (again.kind === 'match') return 'known';
    if (again.kind !== 'unknown') throw refusal(hostName, label, target, info, again);
    const line = knownHostsLine(address, target.port, info.keyType, info.keyBase64);
    const separator = text === '' || text.endsWith('\n') ? '' : '\n';
    try {
      await mkdir(dirname(target.knownHosts), { recursive: true, mode: 0o700 });
      await appendFile(target.knownHosts, `${separator}${line}\n`, { mode: 0o600 });
    } catch (error) {
      throw new TransportError(
        'io',
        hostName,
        `${label}: cannot add the host key to ${target.knownHosts}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return 'added';
  });
}
