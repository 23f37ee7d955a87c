/**
 * Merges one host's connection settings. Precedence, highest first:
 *   1. keys written on the host in hosts.toml (they act like ssh's command line: ssh_config cannot override them),
 *   2. ssh_config (first obtained value wins, as in OpenSSH),
 *   3. [defaults] in hosts.toml,
 *   4. built-ins (port 22, the local user, ~/.ssh/known_hosts, strict, 10 s, ssh).
 * [defaults] sits below ssh_config so that a user's ~/.ssh/config entry for a host is not silently
 * overridden by an inventory-wide default; a host entry is specific and so wins.
 * Identity files are replaced, not accumulated, across these levels; ssh_config IdentityFiles that do
 * not exist are skipped, as ssh skips them.
 */
import path from 'node:path';
import { InventoryError } from './errors.js';
import type { JumpHost, SshConfig } from './ssh-config.js';
import type { ConnectionSettings, HostKeyChecking } from './types.js';

/** Settings as written in hosts.toml, paths already absolute. */
export interface ExplicitSettings {
  address?: string;
  port?: number;
  user?: string;
  identityFiles?: string[];
  knownHosts?: string;
  hostKeyChecking?: HostKeyChecking;
  connectTimeout?: number;
  transport?: 'ssh' | 'local';
}

export interface ConnectionContext {
  /** Undefined when no ssh_config is read. */
  sshConfig?: SshConfig;
  defaults: ExplicitSettings;
  /** Host-level settings of inventory hosts, so that jumping through an inventory host uses them. */
  hosts: ReadonlyMap<string, ExplicitSettings>;
  home: string;
  localUser: string;
  cwd: string;
  agent?: string;
  exists(file: string): boolean;
  /** hosts.toml as shown in messages, for errors that belong to no ssh_config line. */
  display: string;
}

const MAX_JUMPS = 8;

export function resolveConnection(
  name: string,
  explicit: ExplicitSettings,
  context: ConnectionContext,
  options: { skipProxyJump?: boolean; chain?: readonly string[] } = {},
): ConnectionSettings {
  const defaults = context.defaults;
  const transport = explicit.transport ?? defaults.transport ?? 'ssh';
  const common = {
    address: explicit.address ?? name,
    port: explicit.port ?? defaults.port ?? 22,
    user: explicit.user ?? defaults.user ?? context.localUser,
    identityFiles: explicit.identityFiles ?? defaults.identityFiles ?? [],
    knownHosts: explicit.knownHosts ?? defaults.knownHosts ?? path.join(context.home, '.ssh', 'known_hosts'),
    hostKeyChecking: explicit.hostKeyChecking ?? defaults.hostKeyChecking ?? 'strict',
    connectTimeout: explicit.connectTimeout ?? defaults.connectTimeout ?? 10,
    ...(context.agent !== undefined && { agent: context.agent }),
  };
  if (transport === 'local' || !context.sshConfig) {
    return { ...common, proxyJump: [], transport };
  }
  const resolved = context.sshConfig.resolve({
    host: name,
    preset: {
      ...(explicit.address !== undefined && { hostName: explicit.address }),
      ...(explicit.user !== undefined && { user: explicit.user }),
      ...(explicit.port !== undefined && { port: explicit.port }),
      ...(explicit.hostKeyChecking !== undefined && { hostKeyChecking: explicit.hostKeyChecking }),
      ...(explicit.knownHosts !== undefined && { knownHostsFile: explicit.knownHosts }),
      ...(explicit.connectTimeout !== undefined && { connectTimeout: explicit.connectTimeout }),
      ...(explicit.identityFiles !== undefined && { identityFiles: explicit.identityFiles }),
      ...(options.skipProxyJump && { proxyJump: true }),
    },
    defaultUser: defaults.user ?? context.localUser,
    defaultPort: defaults.port ?? 22,
  });
  // OpenSSH resolves a relative IdentityFile or UserKnownHostsFile against the working directory.
  const configIdentities = resolved.identityFiles
    .map((file) => path.resolve(context.cwd, file))
    .filter((file) => context.exists(file));
  const settings: ConnectionSettings = {
    ...common,
    address: resolved.hostName,
    port: resolved.port,
    user: resolved.user,
    proxyJump: [],
    transport,
  };
  if (explicit.identityFiles === undefined && configIdentities.length > 0) settings.identityFiles = configIdentities;
  if (explicit.knownHosts === undefined && resolved.knownHostsFile !== undefined) {
    settings.knownHosts = path.resolve(context.cwd, resolved.knownHostsFile);
  }
  if (explicit.hostKeyChecking === undefined && resolved.hostKeyChecking) settings.hostKeyChecking = resolved.hostKeyChecking;
  if (explicit.connectTimeout === undefined && resolved.connectTimeout !== undefined) {
    settings.connectTimeout = resolved.connectTimeout;
  }
  settings.proxyJump = jumpChain(name, resolved.proxyJump, context, [...(options.chain ?? []), name]);
  return settings;
}

/**
 * Flattens ProxyJump into the order the transport connects: outermost first. As with `ssh -J a,b`,
 * only the first jump host's own ProxyJump is followed; each later one is reached through the previous.
 */
function jumpChain(name: string, jumps: readonly JumpHost[], context: ConnectionContext, chain: string[]): ConnectionSettings[] {
  const flat: ConnectionSettings[] = [];
  jumps.forEach((jump, index) => {
    if (chain.includes(jump.host) || chain.length > MAX_JUMPS) {
      const where = context.sshConfig?.display(context.sshConfig.file) ?? context.display;
      throw new InventoryError(where, `ProxyJump loop for host "${chain[0] ?? name}": ${[...chain, jump.host].join(' -> ')}`);
    }
    const { transport: _ignored, ...inventoryHost } = context.hosts.get(jump.host) ?? {};
    const explicit: ExplicitSettings = {
      ...inventoryHost,
      transport: 'ssh',
      ...(jump.user !== undefined && { user: jump.user }),
      ...(jump.port !== undefined && { port: jump.port }),
    };
    const settings = resolveConnection(jump.host, explicit, context, { skipProxyJump: index > 0, chain });
    flat.push(...settings.proxyJump, { ...settings, proxyJump: [] });
  });
  return flat;
}
