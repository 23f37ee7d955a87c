/**
 * `line`: makes sure one line is in a text file (or is not), like Ansible's lineinfile.
 *
 * Options:
 * - `path` (required): the file on the host.
 * - `line`: the line wanted (required for `present`).
 * - `regexp`: a JavaScript regular expression; with `present`, the last matching line is replaced
 *   by `line`; with `absent`, every matching line is removed.
 * - `state`: `present` (default) or `absent`.
 * - `insertAfter`: where a new line goes: `EOF` (default) or a regexp (after its last match).
 * - `insertBefore`: `BOF` or a regexp (before its last match); instead of insertAfter.
 * - `create`: create the file when missing (default false: a missing file is an error).
 *
 * The file keeps its mode and owner; only the changed line shows in the diff.
 *
 * @example
 * line({ path: '/etc/default/app', regexp: '^MODE=', line: 'MODE=prod' })
 */
import { buildTask } from '../playbook/define.js';
import type { OptionsSchema } from '../playbook/options.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import type { FileFact } from '../facts/file.js';
import { TaskFailure, noop, type Decision } from './decision.js';
import { defineModule } from './define.js';
import { currentText, joinLines, splitLines, textFileFact, writeText } from './text-file.js';

export interface LineOptions {
  path: string;
  line?: string;
  regexp?: string;
  state?: 'present' | 'absent';
  insertAfter?: string;
  insertBefore?: string;
  create?: boolean;
}

const SCHEMA: OptionsSchema = {
  path: { type: 'string', required: true },
  line: { type: 'string' },
  regexp: { type: 'string' },
  state: { type: 'string', values: ['present', 'absent'] },
  insertAfter: { type: 'string' },
  insertBefore: { type: 'string' },
  create: { type: 'boolean' },
};

function lastMatch(lines: readonly string[], pattern: RegExp): number {
  for (let i = lines.length - 1; i >= 0; i--) if (pattern.test(lines[i]!)) return i;
  return -1;
}

function insertIndex(lines: readonly string[], o: LineOptions): number {
  if (o.insertBefore !== undefined) {
    if (o.insertBefore === 'BOF') return 0;
    const i = lastMatch(lines, new RegExp(o.insertBefore));
    return i < 0 ? lines.length : i;
  }
  if (o.insertAfter !== undefined && o.insertAfter !== 'EOF') {
    const i = lastMatch(lines, new RegExp(o.insertAfter));
    return i < 0 ? lines.length : i + 1;
  }
  return lines.length;
}

export function decideLine(o: LineOptions, fact: FileFact): Decision {
  const state = o.state ?? 'present';
  const text = currentText(o.path, fact);
  const quoted = JSON.stringify(o.line ?? o.regexp);
  if (text === undefined) {
    if (state === 'absent') return noop(`${o.path} does not exist, so no line ${quoted} is in it`);
    if (!o.create) throw new TaskFailure(`${o.path} does not exist (set create: true to create it)`);
  }
  const parsed = splitLines(text ?? '');
  const lines = [...parsed.lines];
  const regexp = o.regexp !== undefined ? new RegExp(o.regexp) : undefined;

  if (state === 'absent') {
    const keep = lines.filter((l) => !(regexp ? regexp.test(l) : l === o.line));
    const removed = lines.length - keep.length;
    const next = joinLines({ lines: keep, trailingNewline: true });
    return writeText(o.path, fact, removed === 0 ? text! : next, `would remove ${removed} line(s) matching ${quoted} from ${o.path}`, `no line ${quoted} in ${o.path}`);
  }

  const line = o.line!;
  const present = `line ${JSON.stringify(line)} present in ${o.path}`;
  const matched = regexp ? lastMatch(lines, regexp) : -1;
  let reason: string;
  if (matched >= 0) {
    if (lines[matched] === line) return noop(`${present} (line ${matched + 1})`);
    reason = `line ${matched + 1} of ${o.path} would change from ${JSON.stringify(lines[matched])} to ${JSON.stringify(line)}`;
    lines[matched] = line;
  } else {
    const exact = lines.indexOf(line);
    if (exact >= 0) return noop(`${present} (line ${exact + 1})`);
    const at = insertIndex(lines, o);
    lines.splice(at, 0, line);
    reason = text === undefined ? `${o.path} would be created with line ${JSON.stringify(line)}` : `line ${JSON.stringify(line)} would be added to ${o.path} at line ${at + 1}`;
  }
  return writeText(o.path, fact, joinLines({ lines, trailingNewline: true }), reason, present);
}

export const lineModule = defineModule<LineOptions, LineOptions, { path: ReturnType<typeof textFileFact> }>({
  name: 'line',
  schema: SCHEMA,
  describe: (o) => `line ${JSON.stringify(o.line ?? o.regexp)} ${o.state ?? 'present'} in ${o.path}`,
  facts: (o) => ({ path: textFileFact(o.path) }),
  decide: (o, facts) => decideLine(o, facts.path),
});

function check(o: LineOptions): string | undefined {
  if (!o.path.startsWith('/')) return `path must be an absolute path, not ${JSON.stringify(o.path)}`;
  if ((o.state ?? 'present') === 'present' && o.line === undefined) return 'option "line" is required with state "present"';
  if (o.state === 'absent' && o.line === undefined && o.regexp === undefined) return 'give "line" or "regexp" to remove';
  if (o.line !== undefined && o.line.includes('\n')) return 'option "line" must be a single line';
  if (o.insertAfter !== undefined && o.insertBefore !== undefined) return 'give only one of "insertAfter" and "insertBefore"';
  for (const key of ['regexp', 'insertAfter', 'insertBefore'] as const) {
    const value = o[key];
    if (value === undefined || value === 'EOF' || value === 'BOF') continue;
    try {
      new RegExp(value);
    } catch (error) {
      return `option "${key}" is not a valid regular expression: ${(error as Error).message}`;
    }
  }
  return undefined;
}

/** Makes sure a line is (or is not) in a text file. See the module's TSDoc above. */
export function line(options: LineOptions & CommonOptions): Task<LineOptions> {
  return buildTask('line', SCHEMA, options, check);
}
