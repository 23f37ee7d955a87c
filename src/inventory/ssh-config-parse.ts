/** The lexical side of ssh_config: lines to directives, and the value syntaxes that need parsing. */
import { InventoryError } from './errors.js';

export interface Directive {
  keyword: string;
  args: string[];
  line: number;
}

export interface JumpHost {
  host: string;
  user?: string;
  port?: number;
}

/** Splits one line into keyword and arguments: `key value`, `key=value`, quotes, trailing `#` comments. */
export function parseSshConfig(text: string, display = 'ssh_config'): Directive[] {
  const directives: Directive[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^([^\s=]+)[ \t]*(?:=[ \t]*)?(.*)$/.exec(line);
    if (!match) return;
    const args = splitArgs(match[2] ?? '', () => new InventoryError(display, 'unterminated quote', index + 1));
    directives.push({ keyword: (match[1] ?? '').toLowerCase(), args, line: index + 1 });
  });
  return directives;
}

function splitArgs(rest: string, unterminated: () => Error): string[] {
  const args: string[] = [];
  let current: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i] ?? '';
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && (rest[i + 1] === quote || rest[i + 1] === '\\')) current += rest[++i] ?? '';
      else current += c;
    } else if (c === ' ' || c === '\t') {
      if (current !== undefined) args.push(current);
      current = undefined;
    } else if (c === '#' && current === undefined) {
      break;
    } else if (c === '"' || c === "'") {
      quote = c;
      current ??= '';
    } else if (c === '\\' && i + 1 < rest.length) {
      current = (current ?? '') + (rest[++i] ?? '');
    } else {
      current = (current ?? '') + c;
    }
  }
  if (quote !== undefined) throw unterminated();
  if (current !== undefined) args.push(current);
  return args;
}

/** `[user@]host[:port]` (or `ssh://…`), comma-separated; `none` is no jump. */
export function parseProxyJump(value: string): JumpHost[] | undefined {
  if (value.toLowerCase() === 'none') return [];
  const jumps: JumpHost[] = [];
  for (const item of value.split(',')) {
    const match = /^(?:ssh:\/\/)?(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s[\]]+)(?::(\d+))?\/?$/.exec(item.trim());
    if (!match || match[2] === undefined) return undefined;
    const jump: JumpHost = { host: match[2].replace(/^\[(.*)\]$/, '$1') };
    if (match[1] !== undefined) jump.user = match[1];
    if (match[3] !== undefined) {
      const port = Number(match[3]);
      if (port < 1 || port > 65535) return undefined;
      jump.port = port;
    }
    jumps.push(jump);
  }
  return jumps;
}

/** `%h %p %r %u %n %d %%`; any other token is an error, as in OpenSSH. */
export function expandTokens(value: string, tokens: Readonly<Record<string, string>>, fail: (reason: string) => Error): string {
  return value.replace(/%(.?)/gs, (_whole, token: string) => {
    const replacement = tokens[token];
    if (replacement === undefined) {
      throw fail(token === '' ? 'a lone % at the end (write %% for a percent sign)' : `unsupported token %${token}`);
    }
    return replacement;
  });
}
