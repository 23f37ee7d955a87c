/** Checks a parsed hosts.toml against the contract and turns it into typed entries. */
import path from 'node:path';
import { expandTilde } from './errors.js';
import { didYouMean } from '../util/did-you-mean.js';
import type { ExplicitSettings } from './connection.js';
import type { Segment } from './toml-locate.js';
import { describe, isTable, scopeOf, type TomlSource, type TomlTable, type TomlValue } from './toml-source.js';

export interface HostEntry {
  name: string;
  settings: ExplicitSettings;
  become?: boolean;
  vars: TomlTable;
}

export interface GroupEntry {
  name: string;
  hosts: string[];
  children: string[];
  vars: TomlTable;
}

export interface InventoryDocument {
  defaults: ExplicitSettings;
  become?: boolean;
  /** Absolute path; null for `ssh_config = "none"`; undefined for the default ~/.ssh/config. */
  sshConfig?: string | null;
  vars: TomlTable;
  /** Vars of `[groups.all]`, the implicit group, which may carry vars but no members. */
  allVars: TomlTable;
  hosts: HostEntry[];
  groups: GroupEntry[];
}

export interface SchemaContext {
  source: TomlSource;
  /** Directory relative paths are resolved against: the one holding hosts.toml. */
  dir: string;
  home: string;
  exists(file: string): boolean;
  display(file: string): string;
}

const SETTINGS = ['user', 'identity_file', 'known_hosts', 'host_key_checking', 'become', 'port', 'connect_timeout', 'transport'];
const DEFAULTS_KEYS = [...SETTINGS, 'ssh_config'];
const HOST_KEYS = ['address', ...SETTINGS, 'vars'];
const GROUP_KEYS = ['hosts', 'children', 'vars'];
const TOP_KEYS = ['defaults', 'vars', 'hosts', 'groups'];

/** Names end up in comma-separated host patterns, so they cannot contain pattern syntax. */
const INVALID_NAME = /^$|^[!&]|[\s,*?[\]]/;

export function readDocument(doc: TomlTable, context: SchemaContext): InventoryDocument {
  const check = new Checker(context);
  check.keys(doc, TOP_KEYS, []);
  const defaults = check.table(doc.defaults, ['defaults']);
  check.keys(defaults, DEFAULTS_KEYS, ['defaults']);
  const base = check.settings(defaults, ['defaults']);
  const document: InventoryDocument = {
    defaults: base.settings,
    ...(base.become !== undefined && { become: base.become }),
    vars: check.table(doc.vars, ['vars']),
    allVars: {},
    hosts: [],
    groups: [],
  };
  if (defaults.ssh_config !== undefined) {
    const value = check.string(defaults.ssh_config, ['defaults', 'ssh_config']);
    document.sshConfig = value === 'none' ? null : check.existingFile(value, ['defaults', 'ssh_config']);
  }
  const hosts = check.table(doc.hosts, ['hosts']);
  for (const [name, value] of Object.entries(hosts)) {
    const at = ['hosts', name];
    check.name(name, at, 'host');
    if (name === 'all') throw context.source.error(at, '"all" is the implicit group of every host and cannot be a host name');
    const table = check.table(value, at);
    check.keys(table, HOST_KEYS, at);
    const { settings, become } = check.settings(table, at);
    if (table.address !== undefined) settings.address = check.string(table.address, [...at, 'address']);
    document.hosts.push({ name, settings, ...(become !== undefined && { become }), vars: check.table(table.vars, [...at, 'vars']) });
  }
  const groups = check.table(doc.groups, ['groups']);
  for (const [name, value] of Object.entries(groups)) {
    const at = ['groups', name];
    check.name(name, at, 'group');
    const table = check.table(value, at);
    check.keys(table, GROUP_KEYS, at);
    const vars = check.table(table.vars, [...at, 'vars']);
    if (name === 'all') {
      const listed = table.hosts !== undefined ? 'hosts' : table.children !== undefined ? 'children' : undefined;
      if (listed) throw context.source.error([...at, listed], `[groups.all] cannot list ${listed}: "all" always contains every host`);
      document.allVars = vars;
      continue;
    }
    document.groups.push({ name, hosts: check.names(table.hosts, [...at, 'hosts']), children: check.names(table.children, [...at, 'children']), vars });
  }
  return document;
}

class Checker {
  constructor(readonly context: SchemaContext) {}

  #fail(at: readonly Segment[], reason: string): Error {
    return this.context.source.error(at, reason);
  }

  #wrong(at: readonly Segment[], expected: string, value: unknown): Error {
    const key = at[at.length - 1];
    return this.#fail(at, `${String(key)} must be ${expected} ${scopeOf(at.slice(0, -1))} (got ${describe(value)})`);
  }

  keys(table: TomlTable, allowed: readonly string[], at: readonly Segment[]): void {
    for (const key of Object.keys(table)) {
      if (!allowed.includes(key)) {
        throw this.#fail([...at, key], `unknown key "${key}" ${scopeOf(at)}${didYouMean(key, allowed)}`);
      }
    }
  }

  name(name: string, at: readonly Segment[], kind: string): void {
    if (INVALID_NAME.test(name)) {
      throw this.#fail(at, `invalid ${kind} name ${JSON.stringify(name)}: names cannot be empty, contain whitespace, commas, * ? [ ], or start with ! or &`);
    }
  }

  table(value: TomlValue | undefined, at: readonly Segment[]): TomlTable {
    if (value === undefined) return {};
    if (!isTable(value)) throw this.#wrong(at, 'a table', value);
    return value;
  }

  string(value: TomlValue, at: readonly Segment[]): string {
    if (typeof value !== 'string' || value === '') throw this.#wrong(at, 'a non-empty string', value);
    return value;
  }

  names(value: TomlValue | undefined, at: readonly Segment[]): string[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw this.#wrong(at, 'an array of names', value);
    return value.map((item, index) => {
      if (typeof item !== 'string') throw this.#fail([...at, index], `${String(at[at.length - 1])} must list names as strings ${scopeOf(at.slice(0, -1))} (got ${describe(item)})`);
      return item;
    });
  }

  existingFile(value: string, at: readonly Segment[]): string {
    const file = path.resolve(this.context.dir, expandTilde(value, this.context.home));
    if (!this.context.exists(file)) {
      // at may end in an array index; the message names the key that holds it.
      const keyIndex = at.findLastIndex((segment) => typeof segment === 'string');
      const key = String(at[keyIndex]);
      throw this.#fail(at, `${key} "${value}" does not exist ${scopeOf(at.slice(0, keyIndex))} (looked for ${this.context.display(file)})`);
    }
    return file;
  }

  settings(table: TomlTable, at: readonly Segment[]): { settings: ExplicitSettings; become?: boolean } {
    const settings: ExplicitSettings = {};
    const result: { settings: ExplicitSettings; become?: boolean } = { settings };
    const key = (name: string): Segment[] => [...at, name];
    if (table.user !== undefined) settings.user = this.string(table.user, key('user'));
    if (table.identity_file !== undefined) {
      const value = table.identity_file;
      const list = Array.isArray(value) ? value : [value];
      settings.identityFiles = list.map((item, index) => {
        const itemAt = Array.isArray(value) ? [...key('identity_file'), index] : key('identity_file');
        if (typeof item !== 'string' || item === '') throw this.#wrong(key('identity_file'), 'a path or an array of paths', value);
        return this.existingFile(item, itemAt);
      });
    }
    if (table.known_hosts !== undefined) {
      settings.knownHosts = path.resolve(this.context.dir, expandTilde(this.string(table.known_hosts, key('known_hosts')), this.context.home));
    }
    const checking = table.host_key_checking;
    if (checking !== undefined) {
      if (checking !== 'strict' && checking !== 'accept-new') {
        const got = typeof checking === 'string' ? JSON.stringify(checking) : describe(checking);
        throw this.#fail(key('host_key_checking'), `host_key_checking must be "strict" or "accept-new" ${scopeOf(at)} (got ${got}; there is no "off": host keys are always checked, and accept-new trusts a host's first key)`);
      }
      settings.hostKeyChecking = checking;
    }
    if (table.become !== undefined) {
      if (typeof table.become !== 'boolean') throw this.#wrong(key('become'), 'true or false', table.become);
      result.become = table.become;
    }
    if (table.port !== undefined) {
      const port = table.port;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw this.#wrong(key('port'), 'an integer from 1 to 65535', port);
      }
      settings.port = port;
    }
    if (table.connect_timeout !== undefined) {
      const timeout = table.connect_timeout;
      if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout)) {
        throw this.#wrong(key('connect_timeout'), 'a positive number of seconds', timeout);
      }
      settings.connectTimeout = timeout;
    }
    if (table.transport !== undefined) {
      if (table.transport !== 'ssh' && table.transport !== 'local') throw this.#wrong(key('transport'), '"ssh" or "local"', table.transport);
      settings.transport = table.transport;
    }
    return result;
  }
}
