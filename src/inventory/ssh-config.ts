/**
 * An ssh_config reader that resolves one host the way OpenSSH does: a single pass over the file in
 * order, `Host`/`Match` switching blocks on and off, `Include` read in place, and for every keyword the
 * first value obtained wins (IdentityFile accumulates). It is pure: files come through a reader.
 *
 * Deliberate differences from OpenSSH, each because following it would mean guessing silently:
 * - `Match exec` is an error when it would be evaluated: we do not run shell commands while loading.
 * - `ProxyCommand` (other than `none`) is an error: only ProxyJump is supported, and ignoring a proxy
 *   would send the connection somewhere the user did not mean.
 * - `StrictHostKeyChecking no|off` is an error: host keys are always checked.
 * - `Match canonical` and `Match final` match: there is one pass and it is the final one.
 * - The system-wide /etc/ssh/ssh_config is not read (the caller chooses which file to read).
 */
import path from 'node:path';
import { InventoryError, expandTilde } from './errors.js';
import { expandTokens, parseProxyJump, parseSshConfig, type Directive, type JumpHost } from './ssh-config-parse.js';
import { expandGlob, matchPatternList } from './patterns.js';
import type { HostKeyChecking } from './types.js';

export { expandTokens, parseProxyJump, parseSshConfig, type Directive, type JumpHost } from './ssh-config-parse.js';

export interface SshConfigReader {
  /** The file's text, or undefined when it does not exist. */
  readFile(file: string): string | undefined;
  /** The names in a directory, or undefined when it is not one. */
  readDir(dir: string): string[] | undefined;
}

export interface SshConfigOptions {
  reader: SshConfigReader;
  home: string;
  localUser: string;
  /** How a path appears in error messages; the path itself by default. */
  display?: (file: string) => string;
}

/** Values known before the file is read, like ssh's command line: the file cannot override them. */
export interface SshConfigPreset {
  hostName?: string;
  user?: string;
  port?: number;
  hostKeyChecking?: HostKeyChecking;
  knownHostsFile?: string;
  connectTimeout?: number;
  identityFiles?: readonly string[];
  /** True to ignore the file's ProxyJump, as `ssh -J` given explicitly would. */
  proxyJump?: boolean;
}

export interface SshConfigQuery {
  /** The name given to ssh: what `Host` and `Match originalhost` match and `%n` expands to. */
  host: string;
  preset?: SshConfigPreset;
  /** Assumed when neither preset nor file sets them: for `Match user`, `%r` and `%p`. */
  defaultUser?: string;
  defaultPort?: number;
}

export interface SshConfigResult {
  /** Final values: preset, else the file, else the defaults (the host name itself for hostName). */
  hostName: string;
  user: string;
  port: number;
  /** The following come from the file only: undefined (or empty) when preset or not set. */
  identityFiles: string[];
  knownHostsFile?: string;
  hostKeyChecking?: HostKeyChecking;
  connectTimeout?: number;
  proxyJump: JumpHost[];
}

interface Obtained {
  args: string[];
  file: string;
  line: number;
}

const MAX_INCLUDE_DEPTH = 16;
const SINGLE_VALUED = new Set([
  'hostname',
  'user',
  'port',
  'userknownhostsfile',
  'stricthostkeychecking',
  'connecttimeout',
]);

export class SshConfig {
  readonly #parsed = new Map<string, Directive[] | undefined>();

  constructor(
    readonly file: string,
    readonly options: SshConfigOptions,
  ) {}

  /** True when the file given to the constructor exists. */
  exists(): boolean {
    return this.#directives(this.file) !== undefined;
  }

  resolve(query: SshConfigQuery): SshConfigResult {
    return new Resolution(this, query, (file) => this.#directives(file)).run();
  }

  display(file: string): string {
    return this.options.display?.(file) ?? file;
  }

  #directives(file: string): Directive[] | undefined {
    if (!this.#parsed.has(file)) {
      const text = this.options.reader.readFile(file);
      this.#parsed.set(file, text === undefined ? undefined : parseSshConfig(text, this.display(file)));
    }
    return this.#parsed.get(file);
  }
}

class Resolution {
  readonly #values = new Map<string, Obtained>();
  readonly #identityFiles: Obtained[] = [];
  #active = true;

  constructor(
    readonly config: SshConfig,
    readonly query: SshConfigQuery,
    readonly directives: (file: string) => Directive[] | undefined,
  ) {}

  run(): SshConfigResult {
    this.#walk(this.config.file, 0);
    const { home, localUser } = this.config.options;
    const preset = this.query.preset ?? {};
    const hostName = this.#currentHost();
    const user = this.#currentUser();
    const port = preset.port ?? this.#number('port', 65535) ?? this.query.defaultPort ?? 22;
    const tokens = { '%': '%', h: hostName, p: String(port), r: user, u: localUser, n: this.query.host, d: home };
    const expand = (entry: Obtained, keyword: string): string =>
      expandTokens(expandTilde(entry.args[0] ?? '', home), tokens, (reason) =>
        this.#error(entry, `${reason} in ${keyword}`),
      );
    const result: SshConfigResult = { hostName, user, port, identityFiles: [], proxyJump: [] };
    if (!preset.identityFiles) result.identityFiles = this.#identityFiles.map((entry) => expand(entry, 'IdentityFile'));
    const knownHosts = this.#values.get('userknownhostsfile');
    if (knownHosts) result.knownHostsFile = expand(knownHosts, 'UserKnownHostsFile');
    const checking = this.#hostKeyChecking();
    if (checking) result.hostKeyChecking = checking;
    const timeout = this.#number('connecttimeout', Infinity);
    if (timeout !== undefined) result.connectTimeout = timeout;
    result.proxyJump = this.#proxyJump();
    return result;
  }

  #walk(file: string, depth: number): void {
    const directives = this.directives(file) ?? [];
    for (const directive of directives) {
      const where = { args: directive.args, file, line: directive.line };
      if (directive.keyword === 'host') {
        this.#active = matchPatternList(this.query.host, directive.args, true);
      } else if (directive.keyword === 'match') {
        this.#active = this.#match(where);
      } else if (!this.#active) {
        continue;
      } else if (directive.keyword === 'include') {
        if (depth >= MAX_INCLUDE_DEPTH) throw this.#error(where, 'Include nested too deeply (does a file include itself?)');
        for (const arg of directive.args) {
          const pattern = path.resolve(path.join(this.config.options.home, '.ssh'), expandTilde(arg, this.config.options.home));
          for (const included of expandGlob(pattern, (dir) => this.config.options.reader.readDir(dir))) {
            // An included file's Host lines govern only that file; the including block resumes after it.
            this.#walk(included, depth + 1);
            this.#active = true;
          }
        }
      } else if (directive.keyword === 'identityfile') {
        if (directive.args.length > 0) this.#identityFiles.push(where);
      } else if (directive.keyword === 'proxyjump' || directive.keyword === 'proxycommand') {
        // The two are one setting in OpenSSH: whichever comes first excludes the other.
        if (!this.#values.has('proxy')) this.#values.set('proxy', { ...where, args: [directive.keyword, ...directive.args] });
      } else if (SINGLE_VALUED.has(directive.keyword) && !this.#values.has(directive.keyword)) {
        this.#values.set(directive.keyword, where);
      }
    }
  }

  #match(where: Obtained): boolean {
    const args = where.args;
    if (args.length === 0) throw this.#error(where, 'Match needs criteria (e.g. "Match host web*" or "Match all")');
    let result = true;
    for (let i = 0; i < args.length; ) {
      const raw = args[i++] ?? '';
      const negate = raw.startsWith('!');
      const criterion = (negate ? raw.slice(1) : raw).toLowerCase();
      let matched: boolean;
      if (criterion === 'all' || criterion === 'canonical' || criterion === 'final') {
        matched = true;
      } else {
        const arg = args[i++];
        if (criterion === 'exec') {
          // Like OpenSSH, exec is not run once an earlier criterion has already failed.
          if (!result) continue;
          throw this.#error(where, `Match exec is not supported (host "${this.query.host}"): is-provision does not run commands while reading ssh_config; use Match host/originalhost/user/localuser, or set the value in hosts.toml`);
        }
        if (arg === undefined) throw this.#error(where, `Match ${criterion} needs an argument`);
        if (criterion === 'host') matched = matchPatternList(this.#currentHost(), [arg], true);
        else if (criterion === 'originalhost') matched = matchPatternList(this.query.host, [arg], true);
        else if (criterion === 'user') matched = matchPatternList(this.#currentUser(), [arg], false);
        else if (criterion === 'localuser') matched = matchPatternList(this.config.options.localUser, [arg], false);
        else throw this.#error(where, `unsupported Match criterion "${criterion}" (supported: all, host, originalhost, user, localuser)`);
      }
      if (negate) matched = !matched;
      if (!matched) result = false;
    }
    return result;
  }

  #currentHost(): string {
    const preset = this.query.preset?.hostName;
    if (preset !== undefined) return preset;
    const entry = this.#values.get('hostname');
    if (!entry) return this.query.host;
    return expandTokens(entry.args[0] ?? '', { '%': '%', h: this.query.host }, (reason) => this.#error(entry, `${reason} in HostName`));
  }

  #currentUser(): string {
    return this.query.preset?.user ?? this.#values.get('user')?.args[0] ?? this.query.defaultUser ?? this.config.options.localUser;
  }

  #number(keyword: 'port' | 'connecttimeout', max: number): number | undefined {
    const preset = this.query.preset;
    if (keyword === 'port' ? preset?.port !== undefined : preset?.connectTimeout !== undefined) return undefined;
    const entry = this.#values.get(keyword);
    if (!entry) return undefined;
    const value = entry.args[0] ?? '';
    const number = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!(number >= 1 && number <= max)) {
      const name = keyword === 'port' ? 'Port must be an integer from 1 to 65535' : 'ConnectTimeout must be a positive integer (seconds)';
      throw this.#error(entry, `${name}, got "${value}"`);
    }
    return number;
  }

  #hostKeyChecking(): HostKeyChecking | undefined {
    if (this.query.preset?.hostKeyChecking !== undefined) return undefined;
    const entry = this.#values.get('stricthostkeychecking');
    if (!entry) return undefined;
    const value = (entry.args[0] ?? '').toLowerCase();
    if (value === 'yes' || value === 'ask' || value === 'true') return 'strict';
    if (value === 'accept-new') return 'accept-new';
    if (value === 'no' || value === 'off' || value === 'false') {
      throw this.#error(entry, `StrictHostKeyChecking ${entry.args[0]} is refused (host "${this.query.host}"): there is no "off", host keys are always checked; use accept-new to trust a host's first key`);
    }
    throw this.#error(entry, `StrictHostKeyChecking must be yes, ask or accept-new, got "${entry.args[0] ?? ''}"`);
  }

  #proxyJump(): JumpHost[] {
    const entry = this.#values.get('proxy');
    if (!entry || this.query.preset?.proxyJump) return [];
    const [keyword, ...rest] = entry.args;
    const value = rest.join(' ');
    if (keyword === 'proxycommand') {
      if (value.toLowerCase() === 'none') return [];
      throw this.#error(entry, `ProxyCommand is not supported (host "${this.query.host}"); use ProxyJump`);
    }
    const jumps = parseProxyJump(value);
    if (!jumps) throw this.#error(entry, `bad ProxyJump "${value}" (expected [user@]host[:port], comma-separated, or none)`);
    return jumps;
  }

  #error(where: { file: string; line: number }, reason: string): InventoryError {
    return new InventoryError(this.config.display(where.file), reason, where.line);
  }
}
