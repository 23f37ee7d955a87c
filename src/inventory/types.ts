import type { Secret } from '../shell/secret.js';

/** A var's value as loaded: TOML values, with `{ env }`/`{ file }` tables turned into Secrets. */
export type VarValue = string | number | boolean | Date | Secret | VarValue[] | { [key: string]: VarValue };
export type Vars = Record<string, VarValue>;

export type HostKeyChecking = 'strict' | 'accept-new';

/** Everything needed to open the SSH connection, after hosts.toml and ssh_config are merged. */
export interface ConnectionSettings {
  /** Address to connect to (HostName). */
  address: string;
  port: number;
  user: string;
  /** Absolute paths of private keys to try, in order. Empty: the agent only. */
  identityFiles: string[];
  /** SSH_AUTH_SOCK when set. */
  agent?: string;
  /** Absolute path of the known_hosts file to check and, under accept-new, to write. */
  knownHosts: string;
  hostKeyChecking: HostKeyChecking;
  /** Jump hosts, outermost first, as "user@host:port" already resolved. */
  proxyJump: ConnectionSettings[];
  /** Seconds to wait for the TCP connection and handshake. */
  connectTimeout: number;
  /** "local": run on this machine through child_process instead of SSH. */
  transport: 'ssh' | 'local';
}

export interface Host {
  readonly name: string;
  /** What the playbook sees as host.address: the resolved address. */
  readonly address: string;
  readonly groups: readonly string[];
  /** Inventory vars merged for this host: [vars] < group vars (in group order) < host vars. */
  readonly vars: Readonly<Vars>;
  readonly become: boolean;
  readonly connection: Readonly<ConnectionSettings>;
}

export interface Inventory {
  /** The hosts.toml file it was read from. */
  readonly file: string;
  readonly hosts: readonly Host[];
  /** Group name to host names, including the implicit "all". */
  readonly groups: Readonly<Record<string, readonly string[]>>;
  /** Every Secret found in the inventory, for masking output. */
  readonly secrets: readonly Secret[];
}
