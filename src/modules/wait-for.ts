/**
 * `waitFor`: waits, on the host, until a port listens, a URL answers, or a file (or a line in it)
 * is there; or, with `absent`, until it no longer is.
 *
 * Options (exactly one of `port`, `url`, `file`):
 * - `port`: a TCP port. Without `host`: some process on the host listens on it (read from
 *   /proc/net/tcp, no tool needed). With `host`: a connection from the host to `host:port`
 *   succeeds (nc, else bash's /dev/tcp; Debian always has bash).
 * - `host`: see `port`.
 * - `url`: an http(s) URL fetched from the host with curl (else wget); redirects are not followed,
 *   so a 302 to a login page is the URL's answer.
 * - `status`: the status or statuses that count (default 200).
 * - `insecure`: accept a self-signed (or otherwise unverified) certificate.
 * - `file`: a path that must exist; with `contains`, a line of it must contain that text (fixed
 *   text, not a regexp).
 * - `contains`: see `file`.
 * - `absent`: wait for the opposite: the port closed, the URL not answering so, the file gone, no
 *   line containing the text.
 * - `timeout`: seconds to wait, default 120; checked every second.
 * - `trigger`: a command to run first (string for `sh -c`, or argv), e.g. a restart. With `file`
 *   and `contains`, only lines written after the trigger started count: the log's inode and size
 *   are taken just before it runs, so an old "started" line from before the restart never counts,
 *   however fast the service comes back (a rotated or truncated log counts whole).
 *
 * Why `trigger` rather than a restart in an earlier task: a wait for a log line cannot tell, after
 * the fact, an old line from the one the restart brings. Any snapshot taken after the restart may
 * already hold the new line, any taken before it belongs to the restarting task; so the restart and
 * the snapshot go in one step. A port or URL needs no trigger after a restart that returns only
 * once the old process is gone.
 *
 * Already true: ok ("port 9443 is listening"). Otherwise the step polls until it holds, or fails
 * after the timeout naming what it waited for and the last observation. A dry-run never waits:
 * where an earlier planned change decides the answer, it says so.
 *
 * @example
 * waitFor({ file: '/opt/wso2/node1/wso2is-5.10.0/repository/logs/wso2carbon.log', contains: 'WSO2 Carbon started in',
 *           trigger: ['systemctl', 'restart', 'wso2is'], timeout: 300 })
 */
import { waitStateFact, checkFunction, SNAPSHOT, type WaitProbe, type WaitState } from '../facts/wait-for.js';
import { buildTask } from '../playbook/define.js';
import type { OptionsSchema } from '../playbook/options.js';
import type { CommonOptions, Task } from '../playbook/types.js';
import { join, raw, sh, type Shell } from '../shell/quote.js';
import { commandShell } from './command.js';
import { change, check, noop, TaskFailure, type Decision } from './decision.js';
import { defineModule, type DecideContext } from './define.js';

export interface WaitForOptions {
  port?: number;
  host?: string;
  url?: string;
  status?: number | number[];
  insecure?: boolean;
  file?: string;
  contains?: string;
  absent?: boolean;
  timeout?: number;
  trigger?: string | string[];
}

const SCHEMA: OptionsSchema = {
  port: { type: 'number' },
  host: { type: 'string' },
  url: { type: 'string' },
  status: { type: 'any' },
  insecure: { type: 'boolean' },
  file: { type: 'string' },
  contains: { type: 'string' },
  absent: { type: 'boolean' },
  timeout: { type: 'number' },
  trigger: { type: 'string-or-strings' },
};

export const DEFAULT_TIMEOUT = 120;

const statuses = (o: WaitForOptions): number[] => (o.status === undefined ? [200] : typeof o.status === 'number' ? [o.status] : o.status);

export function probeOf(o: WaitForOptions): WaitProbe {
  const absent = o.absent === true;
  if (o.port !== undefined) return { target: { kind: 'port', port: o.port, ...(o.host !== undefined ? { host: o.host } : {}) }, absent };
  if (o.url !== undefined) return { target: { kind: 'url', url: o.url, status: statuses(o), insecure: o.insecure === true }, absent };
  const sinceSnapshot = o.trigger !== undefined && o.contains !== undefined;
  return { target: { kind: 'file', path: o.file!, ...(o.contains !== undefined ? { contains: o.contains } : {}) }, absent, ...(sinceSnapshot ? { sinceSnapshot } : {}) };
}

/** What is waited for, as the reasons and the timeout message say it. */
export function waitedFor(o: WaitForOptions): string {
  const not = o.absent === true;
  if (o.port !== undefined) {
    if (o.host === undefined) return `port ${o.port} to ${not ? 'stop listening' : 'listen'}`;
    return `${o.host}:${o.port} to ${not ? 'stop accepting' : 'accept'} connections`;
  }
  if (o.url !== undefined) return `${o.url} to ${not ? 'stop answering' : 'answer'} ${statuses(o).join(' or ')}`;
  if (o.contains === undefined) return `${o.file} to ${not ? 'be removed' : 'exist'}`;
  const line = `line containing ${JSON.stringify(o.contains)} in ${o.file}`;
  return not ? `no ${line}` : o.trigger !== undefined ? `a new ${line}` : `a ${line}`;
}

/** The trigger as reasons show it: an argv by its program's name and arguments (the whole command is in the step). */
function triggerText(trigger: string | readonly string[]): string {
  const text = typeof trigger === 'string' ? trigger : [trigger[0]!.replace(/^.*\//, ''), ...trigger.slice(1)].join(' ');
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The step: the trigger if any, then the check every second until it holds or time is up. */
export function waitStep(o: WaitForOptions): Shell {
  const probe = probeOf(o);
  const lines: Shell[] = [checkFunction(probe), sh`what=${waitedFor(o)}; limit=${o.timeout ?? DEFAULT_TIMEOUT}`];
  if (o.trigger !== undefined) {
    if (probe.sinceSnapshot) lines.push(SNAPSHOT);
    lines.push(
      raw('('),
      commandShell(o.trigger),
      raw(')'),
      raw('r=$?'),
      sh`if [ "$r" -ne 0 ]; then printf '%s failed (exit %s)\\n' ${triggerText(o.trigger)} "$r" >&2; exit "$r"; fi`,
    );
  }
  lines.push(
    raw('deadline=$(( $(date +%s) + limit ))'),
    raw('while :; do'),
    raw('  check'),
    raw(`  if [ "$ok" = yes ]; then printf '%s\\n' "$obs"; exit 0; fi`),
    raw(`  if [ "$(date +%s)" -ge "$deadline" ]; then printf 'gave up after %s s waiting for %s (last: %s)\\n' "$limit" "$what" "$obs" >&2; exit 1; fi`),
    raw('  sleep 1'),
    raw('done'),
  );
  return join(lines, '\n');
}

export function decideWaitFor(o: WaitForOptions, state: WaitState, context: Pick<DecideContext, 'dryRun' | 'host'>): Decision {
  const host = context.host.name;
  if (o.url !== undefined && !state.tools.includes('curl') && !state.tools.includes('wget')) {
    throw new TaskFailure(`neither curl nor wget is installed on ${host}: install the package curl first`);
  }
  if (o.port !== undefined && o.host !== undefined && !state.tools.includes('nc') && !state.tools.includes('bash')) {
    throw new TaskFailure(`no TCP client on ${host} to reach ${o.host}:${o.port}: install the package netcat-openbsd first`);
  }
  const what = waitedFor(o);
  const limit = o.timeout ?? DEFAULT_TIMEOUT;
  const planned = state.planned ? ` (as ${state.planned} leaves it)` : '';
  const step = { kind: 'exec' as const, command: waitStep(o), label: `waiting for ${what}` };
  if (o.trigger !== undefined) {
    const run = `${context.dryRun ? 'would run' : 'ran'} ${triggerText(o.trigger)}`;
    return change(`${run}, then ${context.dryRun ? 'wait' : 'waited'} up to ${limit} s for ${what}`, [step]);
  }
  if (state.met) return noop(`${state.observed}${planned}`);
  // Waiting changes nothing on the host: reported ok, as Ansible's wait_for, so dry-run and apply agree.
  return check(`${state.observed}${planned}; ${context.dryRun ? 'would wait' : 'waited'} up to ${limit} s for ${what}`, [step]);
}

export const waitForModule = defineModule<WaitForOptions, WaitForOptions, { state: ReturnType<typeof waitStateFact> }>({
  name: 'waitFor',
  schema: SCHEMA,
  describe: (o) => `wait for ${waitedFor(o)}`,
  isCheck: (o) => o.trigger === undefined,
  facts: (o) => ({ state: waitStateFact(probeOf(o)) }),
  decide: (o, facts, context) => decideWaitFor(o, facts.state, context),
});

function checkOptions(o: WaitForOptions): string | undefined {
  const targets = [o.port, o.url, o.file].filter((t) => t !== undefined).length;
  if (targets !== 1) return 'give exactly one of "port", "url" and "file"';
  if (o.host !== undefined && o.port === undefined) return 'option "host" goes with "port"';
  if ((o.status !== undefined || o.insecure !== undefined) && o.url === undefined) return 'options "status" and "insecure" go with "url"';
  if (o.contains !== undefined && o.file === undefined) return 'option "contains" goes with "file"';
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port >= 1 && o.port <= 65535)) return `port must be a whole number from 1 to 65535, not ${o.port}`;
  if (o.host !== undefined && !/^[A-Za-z0-9._:-]+$/.test(o.host)) return `host must be a host name or address, not ${JSON.stringify(o.host)}`;
  if (o.url !== undefined && !/^https?:\/\/[^\s]+$/.test(o.url)) return `url must be an http:// or https:// URL, not ${JSON.stringify(o.url)}`;
  const codes = o.status === undefined ? [] : Array.isArray(o.status) ? o.status : [o.status];
  if (codes.length === 0 && o.status !== undefined) return 'status must not be an empty array';
  if (codes.some((c) => !(Number.isInteger(c) && c >= 100 && c <= 599))) return 'status must be an HTTP status (100-599) or an array of them';
  if (o.file !== undefined && !o.file.startsWith('/')) return `file must be an absolute path, not ${JSON.stringify(o.file)}`;
  if (o.contains !== undefined && (o.contains === '' || o.contains.includes('\n'))) return 'contains must be non-empty text on one line';
  if (o.timeout !== undefined && !(o.timeout >= 0)) return 'timeout must be a number of seconds, 0 or more';
  if (o.timeout !== undefined && !Number.isInteger(o.timeout)) return 'timeout must be a whole number of seconds';
  if (o.trigger !== undefined && (Array.isArray(o.trigger) ? o.trigger.length === 0 : o.trigger.trim() === '')) return 'trigger must not be empty';
  if (o.trigger !== undefined && o.contains !== undefined && o.absent) return 'a new line cannot be waited for as absent: drop "absent" or "trigger"';
  return undefined;
}

/** Waits until a port, URL or file is there (or gone). See the module's TSDoc above. */
export function waitFor(options: WaitForOptions & CommonOptions): Task<WaitForOptions> {
  return buildTask('waitFor', SCHEMA, options, checkOptions);
}
