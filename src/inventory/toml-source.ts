import TOML from '@iarna/toml';
import { InventoryError } from './errors.js';
import { TomlLocator, type Segment } from './toml-locate.js';

export type TomlValue = string | number | bigint | boolean | Date | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

interface TomlSyntaxError extends Error {
  line: number;
  col: number;
}

const isSyntaxError = (error: unknown): error is TomlSyntaxError =>
  error instanceof Error && typeof (error as Partial<TomlSyntaxError>).line === 'number';

export const isTable = (value: unknown): value is TomlTable =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);

/** One TOML file's text, able to parse itself and to say where any part of it is. */
export class TomlSource {
  readonly #text: string;
  #locator: TomlLocator | undefined;

  /** display is the path as error messages show it. */
  constructor(
    readonly display: string,
    text: string,
  ) {
    this.#text = text;
  }

  parse(): TomlTable {
    try {
      return TOML.parse(this.#text) as TomlTable;
    } catch (error) {
      if (!isSyntaxError(error)) throw error;
      // @iarna/toml counts from 0 and appends a multi-line excerpt; the first line, sans position, is the reason.
      const reason = (error.message.split('\n')[0] ?? '').replace(/ at row \d+, col \d+, pos \d+:?$/, '');
      throw new InventoryError(this.display, `TOML syntax error: ${reason}`, error.line + 1, error.col + 1);
    }
  }

  /** An error pointing at the key or array element at path (or the closest enclosing one found). */
  error(path: readonly Segment[], reason: string): InventoryError {
    this.#locator ??= new TomlLocator(this.#text);
    const at = this.#locator.find(path);
    return new InventoryError(this.display, reason, at?.line, at?.column);
  }
}

/** `[hosts.web1]`, quoting names that are not bare keys, as they would be written in the file. */
export function tableLabel(path: readonly Segment[]): string {
  const parts = path.map((segment) =>
    typeof segment === 'number' ? String(segment) : /^[A-Za-z0-9_-]+$/.test(segment) ? segment : JSON.stringify(segment),
  );
  return `[${parts.join('.')}]`;
}

/** `in [hosts.web1]`, or `at the top level` for keys outside any table. */
export function scopeOf(path: readonly Segment[]): string {
  return path.length === 0 ? 'at the top level' : `in ${tableLabel(path)}`;
}

/** How a value is named in "got …" parts of messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (typeof value === 'bigint') return `integer ${value}`;
  if (typeof value === 'number') return Number.isInteger(value) ? `integer ${value}` : `float ${value}`;
  if (typeof value === 'boolean') return `boolean ${value}`;
  if (value instanceof Date) return 'a date';
  if (Array.isArray(value)) return 'an array';
  return 'a table';
}
