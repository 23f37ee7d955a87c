import { inspect } from 'node:util';

const MASK = '***';
// A registered symbol rather than instanceof: a playbook loaded through its own module graph may see
// another copy of this class, and its secrets must still be recognised.
const BRAND = Symbol.for('is-provision.secret');

/**
 * A value that must never be shown. It prints as `***` through every path a value can take to a screen
 * (string conversion, JSON, util.inspect), so that forgetting to mask it is not possible by accident.
 * `reveal()` is the only way to the value; callers hand it to stdin or a 0600 file, never to a command line.
 */
export class Secret {
  readonly #value: string;
  readonly source: string;

  readonly [BRAND] = true;

  constructor(value: string, source = 'secret') {
    this.#value = value;
    this.source = source;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return MASK;
  }

  toJSON(): string {
    return MASK;
  }

  [inspect.custom](): string {
    return MASK;
  }
}

export const isSecret = (value: unknown): value is Secret =>
  value !== null && typeof value === 'object' && (value as Record<symbol, unknown>)[BRAND] === true;

/** Replaces every occurrence of the given secrets' values in text with `***`. */
export class Masker {
  readonly #values: string[];

  constructor(secrets: Iterable<Secret>) {
    const values = new Set<string>();
    for (const secret of secrets) {
      const value = secret.reveal();
      // A one-character secret would mask half of every line; such a value protects nothing anyway.
      if (value.length >= 2) values.add(value);
    }
    this.#values = [...values].sort((a, b) => b.length - a.length);
  }

  mask(text: string): string {
    let out = text;
    for (const value of this.#values) out = out.split(value).join(MASK);
    return out;
  }

  get empty(): boolean {
    return this.#values.length === 0;
  }
}

/** Collects every Secret inside a vars tree. */
export function secretsIn(value: unknown, into: Secret[] = []): Secret[] {
  if (isSecret(value)) into.push(value);
  else if (Array.isArray(value)) for (const item of value) secretsIn(item, into);
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) secretsIn(item, into);
  return into;
}

/** Replaces Secrets by their values, for renderers that write the value into a file sent over stdin. */
export function revealAll(value: unknown): unknown {
  if (isSecret(value)) return value.reveal();
  if (Array.isArray(value)) return value.map(revealAll);
  // Only plain objects are rebuilt: a Date (TOML datetimes) or a Buffer would otherwise become `{}`.
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealAll(v)]));
  }
  return value;
}
