import { isSecret, type Secret } from './secret.js';
import { Shell, sh, quote, raw } from './quote.js';

export interface WrapOptions {
  /** Run as root through sudo, non-interactively. */
  sudo?: boolean;
  /**
   * The sudo password; sent as the first line of stdin, never on the command line. Only for hosts
   * where sudo asks for one: where it does not (NOPASSWD), the line would reach the command.
   */
  sudoPassword?: Secret;
  /** Directory to run in; the command fails if it does not exist (no silent fallback to $HOME). */
  cwd?: string;
  /** Environment for the command; secret values go over stdin. */
  env?: Record<string, string | number | Secret>;
}

/** A command ready for the transport: the text to run and the bytes to feed to its stdin first. */
export interface Prepared {
  command: string;
  /** Text shown to the user (-v, errors): the same as `command`, since secrets never enter it. */
  display: string;
  stdinPrefix: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Wraps a command with its cwd, environment and sudo, and makes it independent of the login shell
 * (bash, zsh or fish alike run `sh -c`). Secret env values and the sudo password are sent as the
 * leading lines of stdin, in the order they are read.
 */
export function wrap(command: Shell, options: WrapOptions = {}): Prepared {
  let inner = command;
  let stdinPrefix = '';
  const env = options.env ?? {};
  const plain: Shell[] = [];
  const reads: Shell[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) throw new TypeError(`invalid environment variable name ${JSON.stringify(name)}`);
    if (isSecret(value)) {
      if (value.reveal().includes('\n')) throw new TypeError(`secret env ${name} holds a newline; pass it as a file`);
      reads.push(raw(`IFS= read -r ${name} && export ${name}`));
      stdinPrefix += value.reveal() + '\n';
    } else {
      plain.push(raw(`${name}=${quote(value)}`));
    }
  }
  const prefix: Shell[] = [];
  if (options.cwd !== undefined) prefix.push(sh`cd -- ${options.cwd}`);
  prefix.push(...reads);
  if (plain.length > 0) prefix.push(sh`export ${plain}`);
  // The command is grouped so that none of it runs when a prefix fails: a bare `cd dir && a; b` (or
  // `a || b`, or a second line) would run b in the login directory when dir is missing.
  if (prefix.length > 0) inner = new Shell(`${prefix.map((p) => p.text).join(' && ')} && { ${command.text}\n}`);

  let outer = sh`sh -c ${inner.text}`;
  if (options.sudo) {
    if (options.sudoPassword) {
      // -k: sudo asks every time, so the password line on stdin is always read by sudo, never by the command.
      outer = sh`sudo -k -S -p '' -H -- ${outer}`;
      stdinPrefix = options.sudoPassword.reveal() + '\n' + stdinPrefix;
    } else {
      outer = sh`sudo -n -H -- ${outer}`;
    }
  }
  return { command: outer.text, display: outer.text, stdinPrefix };
}
