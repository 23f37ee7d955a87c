/**
 * `command`: runs a command on the host.
 *
 * Options:
 * - `cmd` (required): a string, run by `sh -c` as written (pipes, redirections), or an argv array,
 *   each element quoted as one word so that no value is ever read as shell.
 * - `creates`: skip when this path exists.
 * - `removes`: skip when this path is missing.
 * - `cwd`: directory to run in; the task fails when it does not exist.
 * - `env`: environment variables; secret values reach the command over stdin, not its command line.
 *
 * Without creates/removes it always runs and reports changed. A dry-run never runs it.
 *
 * @example
 * command({ name: 'init db', cmd: ['/opt/app/bin/init', '--data', '/var/lib/app'], creates: '/var/lib/app/.init' })
 */
import { fileFact, type FileFact } from '../facts/file.js';
import type { FactCall } from '../facts/define.js';
import { buildTask } from '../playbook/define.js';
import type { OptionsSchema } from '../playbook/options.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import { raw, sh, type Shell } from '../shell/quote.js';
import type { Secret } from '../shell/secret.js';
import { change, noop, type Decision } from './decision.js';
import { defineModule, type DecideContext } from './define.js';

export interface CommandOptions {
  cmd: string | string[];
  creates?: string;
  removes?: string;
  cwd?: string;
  env?: Record<string, string | number | Secret>;
}

const SCHEMA: OptionsSchema = {
  cmd: { type: 'string-or-strings', required: true },
  creates: { type: 'string' },
  removes: { type: 'string' },
  cwd: { type: 'string' },
  env: { type: 'record' },
};

export function commandShell(cmd: string | readonly string[]): Shell {
  return typeof cmd === 'string' ? raw(cmd) : sh`${cmd}`;
}

type Facts = { creates?: FactCall<FileFact>; removes?: FactCall<FileFact> };

export function decideCommand(o: CommandOptions, facts: { creates?: FileFact; removes?: FileFact }, context: Pick<DecideContext, 'dryRun'>): Decision {
  if (facts.creates && facts.creates.type !== 'absent') return noop(`${o.creates} exists${facts.creates.planned ? ` (made by ${facts.creates.planned})` : ''}`);
  if (facts.removes && facts.removes.type === 'absent') return noop(`${o.removes} does not exist`);
  const why = facts.creates ? `${o.creates} does not exist` : facts.removes ? `${o.removes} exists` : 'a command without creates/removes always runs';
  const reason = context.dryRun ? `${why}; would run (not run in a dry-run)` : why;
  return change(reason, [{ kind: 'exec', command: commandShell(o.cmd), ...(o.cwd ? { cwd: o.cwd } : {}), ...(o.env ? { env: o.env } : {}) }], {
    effects: [
      ...(o.creates ? [{ kind: 'path' as const, path: o.creates, state: 'exists' as const }] : []),
      ...(o.removes ? [{ kind: 'path' as const, path: o.removes, state: 'absent' as const }] : []),
    ],
  });
}

export const commandModule = defineModule<CommandOptions, CommandOptions, Facts>({
  name: 'command',
  schema: SCHEMA,
  describe: (o) => {
    const text = typeof o.cmd === 'string' ? o.cmd : o.cmd.join(' ');
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  },
  facts: (o) => ({
    ...(o.creates ? { creates: fileFact({ path: o.creates, maxContent: 0 }) } : {}),
    ...(o.removes ? { removes: fileFact({ path: o.removes, maxContent: 0 }) } : {}),
  }),
  decide: (o, facts, context) => decideCommand(o, facts, context),
});

/** Runs a command on the host. See the module's TSDoc above. */
export function command(options: CommandOptions & CommonOptions): Task<CommandOptions> {
  return buildTask('command', SCHEMA, options, (o) => {
    if (Array.isArray(o.cmd) && o.cmd.length === 0) return 'cmd must not be an empty array';
    if (typeof o.cmd === 'string' && o.cmd.trim() === '') return 'cmd must not be empty';
    return undefined;
  });
}
