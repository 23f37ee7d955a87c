import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, Client, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import type { ConnectionSettings } from '../inventory/types.js';
import { knownHostKeyTypes, verifyHostKey } from './host-key.js';
import { TransportError } from './types.js';

// ssh2 is CommonJS whose `utils` export Node cannot see statically, hence the default import.

/** SSH-level pings, so a dead peer or a NAT that dropped the idle mapping is noticed within a minute. */
const KEEPALIVE_MS = 15_000;
const KEEPALIVE_MAX = 3;

/** ssh2's default host key algorithms (ssh-ed25519 first), reordered when known_hosts says which we hold. */
const HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

function algorithmsFor(keyType: string): ServerHostKeyAlgorithm[] {
  // An ssh-rsa key is signed with any of the three RSA algorithms; prefer the SHA-2 ones.
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return HOST_KEY_ALGORITHMS.filter((a) => a === keyType);
}

export function endpoint(hop: ConnectionSettings): string {
  return `${hop.user}@${hop.address}:${hop.port}`;
}

interface AuthPlan {
  methods: AnyAuthMethod[];
  tried: string[];
  problems: string[];
}

async function planAuth(label: string, hostName: string, hop: ConnectionSettings): Promise<AuthPlan> {
  const plan: AuthPlan = { methods: [], tried: [], problems: [] };
  // Identity files go before the agent: an agent full of unrelated keys would otherwise use up
  // sshd's MaxAuthTries before the configured key gets its turn.
  for (const file of hop.identityFiles) {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      plan.problems.push(code === 'ENOENT' ? `${file} does not exist` : `${file}: ${(error as Error).message}`);
      continue;
    }
    const parsed = ssh2.utils.parseKey(data);
    if (parsed instanceof Error) {
      if (/passphrase|encrypted/i.test(parsed.message)) {
        if (hop.agent) continue; // its decrypted copy, if loaded, is offered by the agent below
        plan.problems.push(`${file} is passphrase-protected and no agent is available; run ssh-agent and ssh-add ${file}`);
      } else {
        plan.problems.push(`${file} is not a usable private key (${parsed.message})`);
      }
      continue;
    }
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key?.isPrivateKey()) {
      plan.problems.push(`${file} holds no private key`);
      continue;
    }
    plan.methods.push({ type: 'publickey', username: hop.user, key: data });
    plan.tried.push(`key ${file}`);
  }
  if (hop.agent) {
    plan.methods.push({ type: 'agent', username: hop.user, agent: hop.agent });
    plan.tried.push(`agent ${hop.agent}`);
  }
  if (plan.methods.length === 0) {
    const why = plan.problems.length > 0 ? plan.problems.join('; ') : 'no identity files and no agent (SSH_AUTH_SOCK)';
    throw new TransportError('auth', hostName, `${label}: no way to log in as ${endpoint(hop)}: ${why}`);
  }
  return plan;
}

type SshError = Error & { level?: string; code?: string | number };

function failure(hostName: string, label: string, hop: ConnectionSettings, error: SshError, plan: AuthPlan, notes: string[]): TransportError {
  const where = `${hop.address}:${hop.port}`;
  const make = (kind: 'auth' | 'unreachable', message: string) =>
    new TransportError(kind, hostName, `${label}: ${message}`, { cause: error });
  if (error.level === 'client-authentication' || /authentication/i.test(error.message)) {
    const extra = [...plan.problems, ...notes];
    return make(
      'auth',
      `authentication failed for ${endpoint(hop)}; tried ${plan.tried.join(', ')}` +
        (extra.length > 0 ? ` (${extra.join('; ')})` : ''),
    );
  }
  if (error.level === 'client-timeout' || error.code === 'ETIMEDOUT') {
    return make('unreachable', `timed out after ${hop.connectTimeout} s connecting to ${where}`);
  }
  switch (error.code) {
    case 'ECONNREFUSED':
      return make('unreachable', `connection refused by ${where}; is sshd running and listening on that port?`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return make('unreachable', `no route to ${hop.address} (${error.code})`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return make('unreachable', `cannot resolve ${hop.address} (${error.code})`);
    case 'ECONNRESET':
      return make('unreachable', `${where} closed the connection during the handshake (${error.message})`);
    default:
      return make('unreachable', `cannot connect to ${where}: ${error.message}`);
  }
}

/** ssh2 reports these and carries on with the next auth method; only the final failure is fatal. */
function isRecoverable(error: SshError): boolean {
  if (error.level === 'agent') return true;
  return error.level === 'client-authentication' && error.message !== 'All configured authentication methods failed';
}

/**
 * Opens and authenticates one ssh2 Client. Its 'error' listener stays for the connection's whole
 * life: ssh2 emits 'error' on an idle reset, and an EventEmitter without a listener would throw it
 * and take the process down.
 */
export async function openClient(
  hostName: string,
  label: string,
  hop: ConnectionSettings,
  sock?: Duplex,
): Promise<Client> {
  const plan = await planAuth(label, hostName, hop);
  const knownTypes = await knownHostKeyTypes(hostName, hop);
  const preferred = [...new Set(knownTypes.flatMap(algorithmsFor))];
  const client = new ssh2.Client();
  let verifyError: TransportError | undefined;
  const notes: string[] = [];

  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    const fail = (error: TransportError) => {
      if (settled) return;
      settled = true;
      client.destroy();
      reject(error);
    };
    client.on('error', (error: SshError) => {
      if (settled) return;
      if (isRecoverable(error)) {
        notes.push(error.message);
        return;
      }
      fail(verifyError ?? failure(hostName, label, hop, error, plan, notes));
    });
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      resolve(client);
    });
    client.once('close', () => {
      fail(verifyError ?? new TransportError('unreachable', hostName, `${label}: ${hop.address}:${hop.port} closed the connection during the handshake`));
    });

    const config: ConnectConfig = {
      host: hop.address,
      port: hop.port,
      username: hop.user,
      authHandler: plan.methods,
      readyTimeout: hop.connectTimeout * 1000,
      keepaliveInterval: KEEPALIVE_MS,
      keepaliveCountMax: KEEPALIVE_MAX,
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void): void => {
        // No return value on purpose: ssh2 takes a returned value (even a Promise) as the verdict.
        verifyHostKey(hostName, hop, key, label).then(
          () => verify(true),
          (error: unknown) => {
            verifyError =
              error instanceof TransportError
                ? error
                : new TransportError('io', hostName, `${label}: cannot check the host key: ${String(error)}`, { cause: error });
            verify(false);
          },
        );
      },
    };
    if (preferred.length > 0) {
      config.algorithms = {
        serverHostKey: [...preferred, ...HOST_KEY_ALGORITHMS.filter((a) => !preferred.includes(a))],
      };
    }
    if (sock) config.sock = sock;
    try {
      client.connect(config);
    } catch (error) {
      fail(new TransportError('unreachable', hostName, `${label}: cannot connect to ${endpoint(hop)}: ${(error as Error).message}`, { cause: error }));
    }
  });
}

/** Opens a TCP channel through a jump host to the next hop. */
function forward(hostName: string, jump: Client, jumpLabel: string, next: ConnectionSettings): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const timeout = next.connectTimeout * 1000;
    const timer = setTimeout(() => {
      reject(new TransportError('unreachable', hostName, `${jumpLabel}: timed out after ${next.connectTimeout} s reaching ${next.address}:${next.port}`));
    }, timeout > 0 ? timeout : 2 ** 31 - 1);
    jump.forwardOut('127.0.0.1', 0, next.address, next.port, (error, stream) => {
      clearTimeout(timer);
      if (error) {
        reject(new TransportError('unreachable', hostName, `${jumpLabel}: cannot reach ${next.address}:${next.port}: ${error.message}`, { cause: error }));
        return;
      }
      stream.on('error', () => undefined); // surfaces as the inner connection's close
      resolve(stream);
    });
  });
}

/** Connects through every jump host in order; the last client is the target's. */
export async function openChain(hostName: string, settings: ConnectionSettings): Promise<Client[]> {
  const hops = [...settings.proxyJump, settings];
  const clients: Client[] = [];
  try {
    let sock: Duplex | undefined;
    for (let i = 0; i < hops.length; i++) {
      const hop = hops[i] as ConnectionSettings;
      const isTarget = i === hops.length - 1;
      const label = isTarget ? hostName : `${hostName} (jump host ${endpoint(hop)})`;
      const client = await openClient(hostName, label, hop, sock);
      clients.push(client);
      const next = hops[i + 1];
      if (next) sock = await forward(hostName, client, label, next);
    }
    return clients;
  } catch (error) {
    for (const client of clients.reverse()) client.destroy();
    throw error;
  }
}
