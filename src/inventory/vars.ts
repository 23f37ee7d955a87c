import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Secret } from '../shell/secret.js';
import { expandTilde } from './errors.js';
import type { Segment } from './toml-locate.js';
import { TomlSource, isTable, type TomlTable, type TomlValue } from './toml-source.js';
import type { VarValue, Vars } from './types.js';

export interface VarFile {
  /** Group or host name: the file name without .toml. */
  name: string;
  file: string;
  source: TomlSource;
  table: TomlTable;
}

/** `group_vars/*.toml` or `host_vars/*.toml` beside hosts.toml, by name; none when the directory is absent. */
export async function readVarFiles(dir: string, kind: 'group_vars' | 'host_vars', display: (file: string) => string): Promise<VarFile[]> {
  let entries;
  try {
    entries = await readdir(path.join(dir, kind), { withFileTypes: true });
  } catch {
    return [];
  }
  const names = entries
    .filter((entry) => entry.name.endsWith('.toml') && !entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (entry) => {
      const file = path.join(dir, kind, entry);
      const source = new TomlSource(display(file), await readFile(file, 'utf8'));
      return { name: entry.slice(0, -'.toml'.length), file, source, table: source.parse() };
    }),
  );
}

/**
 * Turns TOML var tables into Vars, replacing every `{ env = "NAME" }` and `{ file = "path" }` table
 * (at any depth) by a Secret read now, so a missing secret fails the load rather than a task.
 */
export class VarLoader {
  readonly secrets: Secret[] = [];

  constructor(
    readonly env: NodeJS.ProcessEnv,
    /** Secret files are relative to hosts.toml's directory, from whichever file names them. */
    readonly dir: string,
    readonly home: string,
    readonly display: (file: string) => string,
  ) {}

  /** scope names the table in messages, e.g. "[hosts.web1]"; empty for a vars file of its own. */
  async table(table: TomlTable, source: TomlSource, at: readonly Segment[], scope: string): Promise<Vars> {
    const vars: Vars = {};
    for (const [key, value] of Object.entries(table)) {
      define(vars, key, await this.#value(value, source, [...at, key], at.length, scope));
    }
    return vars;
  }

  async #value(value: TomlValue, source: TomlSource, at: Segment[], base: number, scope: string): Promise<VarValue> {
    if (typeof value === 'bigint') throw source.error(at, `${varName(at, base, scope)} is an integer too large to represent exactly`);
    if (Array.isArray(value)) {
      const items: VarValue[] = [];
      for (const [index, item] of value.entries()) items.push(await this.#value(item, source, [...at, index], base, scope));
      return items;
    }
    if (!isTable(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && typeof value.env === 'string') return this.#envSecret(value.env, source, at, base, scope);
    if (keys.length === 1 && typeof value.file === 'string') return this.#fileSecret(value.file, source, at, base, scope);
    const table: { [key: string]: VarValue } = {};
    for (const key of keys) define(table, key, await this.#value(value[key] as TomlValue, source, [...at, key], base, scope));
    return table;
  }

  #envSecret(name: string, source: TomlSource, at: Segment[], base: number, scope: string): Secret {
    const value = this.env[name];
    if (value === undefined) {
      throw source.error(at, `environment variable ${name} is not set (needed by ${varName(at, base, scope)})`);
    }
    return this.#keep(new Secret(value, `env ${name}`));
  }

  async #fileSecret(written: string, source: TomlSource, at: Segment[], base: number, scope: string): Promise<Secret> {
    const file = path.resolve(this.dir, expandTilde(written, this.home));
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const problem = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(error)})`;
      throw source.error(at, `secret file "${written}" ${problem} (needed by ${varName(at, base, scope)}; looked for ${this.display(file)})`);
    }
    // Editors end files with a newline that is not part of the secret; only one, so deliberate ones stay.
    return this.#keep(new Secret(text.replace(/\r?\n$/, ''), `file ${written}`));
  }

  #keep(secret: Secret): Secret {
    this.secrets.push(secret);
    return secret;
  }
}

/** `var "db.password" in [vars]`: the path below the vars table, as it would be written in TOML. */
function varName(at: readonly Segment[], base: number, scope: string): string {
  const name = at
    .slice(base)
    .map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : index === 0 ? segment : `.${segment}`))
    .join('');
  return `var "${name}"${scope === '' ? '' : ` in ${scope}`}`;
}

/** Plain assignment would turn a TOML key named __proto__ into a prototype change. */
function define(target: Record<string, VarValue>, key: string, value: VarValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Top-level replace, later layers winning (Ansible's default hash_behaviour). */
export function mergeVars(...layers: readonly Vars[]): Vars {
  const merged: Vars = {};
  for (const layer of layers) for (const [key, value] of Object.entries(layer)) define(merged, key, value);
  return merged;
}
