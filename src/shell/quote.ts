import { isSecret } from './secret.js';

/** Shell text that is safe to send as is: built only by `sh`, `raw` and the wrappers in this room. */
export class Shell {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

export type ShellValue = string | number | Shell | readonly (string | number | Shell)[];

/** POSIX single-quoting: the one function that turns a value into a shell word. */
export function quote(value: string | number): string {
  const text = String(value);
  if (text !== '' && /^[A-Za-z0-9_\-+=.,/:@%^]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function render(value: unknown): string {
  if (value instanceof Shell) return value.text;
  if (isSecret(value)) {
    throw new TypeError('a secret cannot be put on a command line; pass it on stdin or in a 0600 file');
  }
  if (Array.isArray(value)) return value.map(render).join(' ');
  if (typeof value === 'string' || typeof value === 'number') return quote(value);
  throw new TypeError(`cannot put a ${value === null ? 'null' : typeof value} into a shell command`);
}

/**
 * Tagged template for shell commands: every `${value}` is quoted as one word (arrays as one word each),
 * nested `Shell` values are inserted as they are. Secrets are refused.
 */
export function sh(strings: TemplateStringsArray, ...values: unknown[]): Shell {
  let text = strings[0] ?? '';
  values.forEach((value, i) => {
    text += render(value) + (strings[i + 1] ?? '');
  });
  return new Shell(text);
}

/**
 * Trusted shell text, inserted unquoted. Only for text the user wrote as shell on purpose
 * (a command module's `cmd` string) or constants of our own.
 */
export function raw(text: string): Shell {
  return new Shell(text);
}

/** Joins commands with a separator such as `&&` or `\n`. */
export function join(parts: readonly Shell[], separator: '&&' | '\n' | ';' | '||' | ' '): Shell {
  const glue = separator === '\n' || separator === ' ' ? separator : ` ${separator} `;
  return new Shell(parts.map((p) => p.text).join(glue));
}
