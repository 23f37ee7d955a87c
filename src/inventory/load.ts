import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isSecret } from '../shell/secret.js';
import { resolveConnection, type ConnectionContext, type ExplicitSettings } from './connection.js';
import { InventoryError } from './errors.js';
import { displayPath } from '../util/display-path.js';
import { didYouMean } from '../util/did-you-mean.js';
import { buildGroups } from './groups.js';
import { readDocument } from './schema.js';
import { SshConfig, type SshConfigOptions, type SshConfigReader } from './ssh-config.js';
import { TomlSource, tableLabel } from './toml-source.js';
import type { Host, Inventory, Vars } from './types.js';
import { VarLoader, mergeVars, readVarFiles, type VarFile } from './vars.js';

export { inventoryListing } from './listing.js';

export interface LoadOptions {
  /** Where `{ env = … }` secrets and SSH_AUTH_SOCK are read; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** What `~` means; os.homedir() by default. */
  home?: string;
  /** What relative paths given to loadInventory (and in ssh_config) are relative to; process.cwd() by default. */
  cwd?: string;
}

/** Node's file system as the ssh_config reader: absent and unreadable files read as absent. */
const fsReader: SshConfigReader = {
  readFile(file) {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  },
  readDir(dir) {
    try {
      return readdirSync(dir);
    } catch {
      return undefined;
    }
  },
};

const isFile = (file: string): boolean => {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

/**
 * Reads an inventory: `path` is hosts.toml itself or a directory holding it. Everything is checked
 * and every secret read before this returns, and the result is deeply frozen.
 */
export async function loadInventory(inventoryPath: string, options: LoadOptions = {}): Promise<Inventory> {
  const env = options.env ?? process.env;
  const home = options.home ?? os.homedir();
  const cwd = options.cwd ?? process.cwd();
  const display = (file: string): string => displayPath(file, cwd, home);

  const file = await hostsFile(path.resolve(cwd, inventoryPath), display);
  const dir = path.dirname(file);
  const source = new TomlSource(display(file), await readFile(file, 'utf8'));
  const document = readDocument(source.parse(), { source, dir, home, exists: existsSync, display });
  const graph = buildGroups(document, source);

  const hostNames = document.hosts.map((host) => host.name);
  const groupNames = ['all', ...document.groups.map((group) => group.name)];
  const groupFiles = byName(await readVarFiles(dir, 'group_vars', display), groupNames, 'group');
  const hostFiles = byName(await readVarFiles(dir, 'host_vars', display), hostNames, 'host');

  const loader = new VarLoader(env, dir, home, display);
  const inventoryVars = await loader.table(document.vars, source, ['vars'], '[vars]');
  const groupVars = new Map<string, Vars>();
  const inline = new Map([['all', document.allVars], ...document.groups.map((group) => [group.name, group.vars] as const)]);
  for (const name of groupNames) {
    const at = ['groups', name, 'vars'];
    const own = await loader.table(inline.get(name) ?? {}, source, at, tableLabel(at.slice(0, 2)));
    const extra = groupFiles.get(name);
    groupVars.set(name, mergeVars(own, extra ? await loader.table(extra.table, extra.source, [], '') : {}));
  }

  const localUser = env.USER ?? env.LOGNAME ?? localUserName();
  const sshConfig = sshConfigFor(document.sshConfig, { reader: fsReader, home, localUser, display });
  const context: ConnectionContext = {
    ...(sshConfig && { sshConfig }),
    defaults: document.defaults,
    hosts: new Map<string, ExplicitSettings>(document.hosts.map((host) => [host.name, host.settings])),
    home,
    localUser,
    cwd,
    ...(env.SSH_AUTH_SOCK && { agent: env.SSH_AUTH_SOCK }),
    exists: isFile,
    display: source.display,
  };

  const hosts: Host[] = [];
  for (const entry of document.hosts) {
    const at = ['hosts', entry.name, 'vars'];
    const own = await loader.table(entry.vars, source, at, tableLabel(at.slice(0, 2)));
    const extra = hostFiles.get(entry.name);
    const groups = graph.order.filter((group) => graph.members.get(group)?.has(entry.name));
    const vars = mergeVars(
      inventoryVars,
      groupVars.get('all') ?? {},
      ...groups.map((group) => groupVars.get(group) ?? {}),
      own,
      extra ? await loader.table(extra.table, extra.source, [], '') : {},
    );
    const connection = resolveConnection(entry.name, entry.settings, context);
    hosts.push({
      name: entry.name,
      address: connection.address,
      groups,
      vars,
      become: entry.become ?? document.become ?? false,
      connection,
    });
  }

  const groups: Record<string, string[]> = { all: hostNames };
  for (const group of document.groups) groups[group.name] = [...(graph.members.get(group.name) ?? [])];
  return deepFreeze({ file, hosts, groups, secrets: loader.secrets });
}

async function hostsFile(target: string, display: (file: string) => string): Promise<string> {
  const info = await stat(target).catch(() => undefined);
  if (!info) throw new InventoryError(display(target), 'inventory not found (give a hosts.toml file or a directory holding one)');
  if (!info.isDirectory()) return target;
  const file = path.join(target, 'hosts.toml');
  if (!isFile(file)) throw new InventoryError(display(target), 'directory has no hosts.toml');
  return file;
}

/** A file in group_vars/ or host_vars/ that names nothing is most likely a typo; say so rather than ignore it. */
function byName(files: VarFile[], names: readonly string[], kind: string): Map<string, VarFile> {
  for (const file of files) {
    if (!names.includes(file.name)) {
      throw new InventoryError(file.source.display, `no ${kind} named "${file.name}" in hosts.toml${didYouMean(file.name, names)}`);
    }
  }
  return new Map(files.map((file) => [file.name, file]));
}

function sshConfigFor(setting: string | null | undefined, options: SshConfigOptions): SshConfig | undefined {
  if (setting === null) return undefined;
  // A missing default ~/.ssh/config is normal; a named one was checked to exist by the schema.
  const config = new SshConfig(setting ?? path.join(options.home, '.ssh', 'config'), options);
  return setting === undefined && !config.exists() ? undefined : config;
}

function localUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    // Containers may run as a uid with no passwd entry; ssh itself would refuse, so any name will do here.
    return 'root';
  }
}

/** Freezes plain data all the way down; Secrets keep their private state and are left as they are. */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || isSecret(value) || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const item of Object.values(value)) deepFreeze(item);
  return value;
}
