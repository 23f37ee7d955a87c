/**
 * `hostsEntry`: maps names to an address in /etc/hosts (or another hosts file).
 *
 * Options:
 * - `ip` (required): the address.
 * - `names`: host names for it (required for `present`).
 * - `path`: the hosts file; default `/etc/hosts`.
 * - `state`: `present` (default): one line for the ip holds every name (names merged into an
 *   existing line; a name moves off any other address's line, since a name has one address);
 *   `absent`: the names are removed from the ip's line (the whole line when no names are given or
 *   none remain).
 *
 * Other lines, comments and spacing are left as they are.
 *
 * @example
 * hostsEntry({ ip: '127.0.0.1', names: ['is.wso2.com'] })
 */
import { buildTask } from '../playbook/define.js';
import type { OptionsSchema } from '../playbook/options.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import type { FileFact } from '../facts/file.js';
import { TaskFailure, noop, type Decision } from './decision.js';
import { defineModule } from './define.js';
import { currentText, joinLines, splitLines, textFileFact, writeText } from './text-file.js';

export interface HostsEntryOptions {
  ip: string;
  names?: string[];
  path?: string;
  state?: 'present' | 'absent';
}

const SCHEMA: OptionsSchema = {
  ip: { type: 'string', required: true },
  names: { type: 'strings' },
  path: { type: 'string' },
  state: { type: 'string', values: ['present', 'absent'] },
};

interface Entry {
  ip: string;
  names: string[];
  comment: string;
}

function parseEntry(line: string): Entry | undefined {
  const hash = line.indexOf('#');
  const body = hash >= 0 ? line.slice(0, hash) : line;
  const fields = body.trim().split(/\s+/).filter(Boolean);
  if (fields.length === 0) return undefined;
  return { ip: fields[0]!, names: fields.slice(1), comment: hash >= 0 ? line.slice(hash) : '' };
}

function format(entry: Entry): string {
  return [entry.ip, ...entry.names].join(' ') + (entry.comment ? ` ${entry.comment}` : '');
}

export function decideHostsEntry(o: HostsEntryOptions, fact: FileFact): Decision {
  const path = o.path ?? '/etc/hosts';
  const state = o.state ?? 'present';
  const names = o.names ?? [];
  const text = currentText(path, fact);
  const wanted = `${o.ip} ${names.join(' ')}`.trim();
  if (text === undefined) {
    if (state === 'absent') return noop(`${path} does not exist`);
    throw new TaskFailure(`${path} does not exist`);
  }
  const lines = [...splitLines(text).lines];
  const out: string[] = [];
  let own: number | undefined;
  const moved: string[] = [];
  for (const line of lines) {
    const entry = parseEntry(line);
    if (!entry) {
      out.push(line);
      continue;
    }
    if (entry.ip === o.ip) {
      if (state === 'absent') {
        const left = names.length === 0 ? [] : entry.names.filter((n) => !names.includes(n));
        if (left.length > 0) out.push(left.length === entry.names.length ? line : format({ ...entry, names: left }));
        continue;
      }
      if (own === undefined) {
        own = out.length;
        const merged = [...entry.names, ...names.filter((n) => !entry.names.includes(n))];
        out.push(merged.length === entry.names.length ? line : format({ ...entry, names: merged }));
      } else {
        // A second line for the same address: its names join the first, so one line holds them all.
        const first = parseEntry(out[own]!)!;
        const merged = [...first.names, ...entry.names.filter((n) => !first.names.includes(n))];
        out[own] = format({ ...first, names: merged });
      }
      continue;
    }
    const taken = state === 'present' ? entry.names.filter((n) => names.includes(n)) : [];
    if (taken.length === 0) {
      out.push(line);
      continue;
    }
    moved.push(...taken.map((n) => `${n} from ${entry.ip}`));
    const left = entry.names.filter((n) => !names.includes(n));
    if (left.length > 0) out.push(format({ ...entry, names: left }));
  }
  if (state === 'present' && own === undefined) out.push(wanted);
  const next = joinLines({ lines: out, trailingNewline: true });
  if (state === 'absent') {
    return writeText(path, fact, next === joinLines({ lines, trailingNewline: true }) ? text : next, `would remove ${wanted} from ${path}`, `no entry ${JSON.stringify(wanted)} in ${path}`);
  }
  const reason = `would map ${names.join(', ')} to ${o.ip} in ${path}${moved.length ? ` (moving ${moved.join(', ')})` : ''}`;
  const unchanged = `line ${JSON.stringify(own === undefined ? wanted : out[own])} present in ${path}`;
  return writeText(path, fact, next === joinLines({ lines, trailingNewline: true }) ? text : next, reason, unchanged);
}

export const hostsEntryModule = defineModule<HostsEntryOptions, HostsEntryOptions, { path: ReturnType<typeof textFileFact> }>({
  name: 'hostsEntry',
  schema: SCHEMA,
  describe: (o) => `hosts entry ${o.ip} ${(o.names ?? []).join(' ')}`.trim(),
  facts: (o) => ({ path: textFileFact(o.path ?? '/etc/hosts') }),
  decide: (o, facts) => decideHostsEntry(o, facts.path),
});

/** Maps names to an address in /etc/hosts. See the module's TSDoc above. */
export function hostsEntry(options: HostsEntryOptions & CommonOptions): Task<HostsEntryOptions> {
  return buildTask('hostsEntry', SCHEMA, options, (o) => {
    if (!/^[0-9a-fA-F:.]+(%\w+)?$/.test(o.ip)) return `ip ${JSON.stringify(o.ip)} is not an IPv4 or IPv6 address`;
    if ((o.state ?? 'present') === 'present' && (!o.names || o.names.length === 0)) return 'option "names" is required with state "present"';
    const bad = (o.names ?? []).find((n) => !/^[A-Za-z0-9_.-]+$/.test(n));
    if (bad !== undefined) return `name ${JSON.stringify(bad)} is not a valid host name`;
    return undefined;
  });
}
