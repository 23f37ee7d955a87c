import { spawnSync } from 'node:child_process';

export interface ShResult {
  stdout: Buffer;
  stderr: string;
  code: number;
}

/** Runs a script with the local POSIX sh, as the transport runs a command on a host. */
export function runSh(script: string, options: { stdin?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {}): ShResult {
  const result = spawnSync('sh', ['-c', script], {
    input: options.stdin ?? '',
    cwd: options.cwd,
    env: options.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LC_ALL: 'C' },
  });
  if (result.error) throw result.error;
  return { stdout: result.stdout, stderr: result.stderr.toString('utf8'), code: result.status ?? -1 };
}

/** Hostile strings for quoting: every shell metacharacter, in every position. */
export const HOSTILE: readonly string[] = [
  '',
  ' ',
  'two words',
  '  leading and trailing  ',
  "it's",
  "''",
  "'",
  "a'b'c",
  '"double"',
  '$(touch /tmp/pwned)',
  '`touch /tmp/pwned`',
  '$HOME',
  '${HOME}',
  '$((1+2))',
  'a; rm -rf /',
  'a && b || c',
  'a | b',
  'a > b < c',
  'line1\nline2',
  '\n',
  'trailing newline\n',
  'tab\there',
  'back\\slash',
  '\\',
  '\\n',
  '*',
  '?',
  '[a-z]',
  '~',
  '~root',
  '#comment',
  '!',
  '!!',
  '{a,b}',
  '(subshell)',
  '&',
  '-n',
  '-e',
  '--',
  '%s%d',
  'ünïcødé ✓ 日本語 🚀',
  '\u00a0nbsp',
  '\r\n',
  "mix'\"$`\\;|&<>(){}[]*?~#! \t\n",
  'x=1',
  'a\u0001b\u007f',
];
