/**
 * Ansible host patterns: `web1,app,db*,!web3,&prod`. Plain terms are unioned, then `&` terms
 * intersect, then `!` terms exclude, whatever order they are written in; only exclusions means
 * "all except". A name that matches no host or group is an error, since a typo in --limit must not
 * quietly select nothing (or everything); a glob that matches nothing is not.
 */
import { closest } from '../util/did-you-mean.js';
import { hasWildcard, wildcardToRegExp } from './patterns.js';
import type { Host, Inventory } from './types.js';

export class HostPatternError extends Error {
  /** The names that matched no host or group. */
  readonly unknown: readonly string[];

  constructor(message: string, unknown: readonly string[] = []) {
    super(message);
    this.name = 'HostPatternError';
    this.unknown = unknown;
  }
}

/** The hosts a pattern selects, in inventory order. */
export function selectHosts(inventory: Inventory, pattern: string | readonly string[]): Host[] {
  const written = typeof pattern === 'string' ? pattern : pattern.join(',');
  const terms = written
    .split(',')
    .map((term) => term.trim())
    .filter((term) => term !== '');
  if (terms.length === 0) throw new HostPatternError(`empty host pattern ${JSON.stringify(written)}`);

  const unknown: string[] = [];
  const resolve = (term: string): Set<string> => {
    const found = matchTerm(inventory, term);
    if (found === undefined) {
      unknown.push(term);
      return new Set();
    }
    return found;
  };
  // Resolved in written order so that unknown names are reported in that order.
  const resolved = terms.map((term) => {
    const kind = term[0] === '!' || term[0] === '&' ? term[0] : '';
    return { kind, set: resolve(kind === '' ? term : term.slice(1).trim()) };
  });
  if (unknown.length > 0) throw unknownError(inventory, written, unknown);
  const sets = (kind: string): Set<string>[] => resolved.filter((term) => term.kind === kind).map((term) => term.set);
  const [plain, intersect, exclude] = [sets(''), sets('&'), sets('!')];

  const everyone = inventory.hosts.map((host) => host.name);
  const selected = new Set(plain.length > 0 ? plain.flatMap((set) => [...set]) : everyone);
  for (const set of intersect) for (const name of [...selected]) if (!set.has(name)) selected.delete(name);
  for (const set of exclude) for (const name of set) selected.delete(name);
  return inventory.hosts.filter((host) => selected.has(host.name));
}

/** Host names a term stands for; undefined when it names nothing. */
function matchTerm(inventory: Inventory, term: string): Set<string> | undefined {
  if (term === 'all' || term === '*') return new Set(inventory.hosts.map((host) => host.name));
  // A name may be a host and a group at once (a group "db" holding the host "db"): it stands for both.
  const isHost = inventory.hosts.some((host) => host.name === term);
  const group = inventory.groups[term];
  if (isHost || group) return new Set([...(isHost ? [term] : []), ...(group ?? [])]);
  if (!hasWildcard(term)) return undefined;
  const regexp = wildcardToRegExp(term);
  const names = new Set(inventory.hosts.filter((host) => regexp.test(host.name)).map((host) => host.name));
  for (const [name, members] of Object.entries(inventory.groups)) {
    if (regexp.test(name)) for (const member of members) names.add(member);
  }
  return names;
}

function unknownError(inventory: Inventory, written: string, unknown: readonly string[]): HostPatternError {
  const candidates = [...inventory.hosts.map((host) => host.name), ...Object.keys(inventory.groups)];
  const described = unknown.map((name) => {
    const suggestion = closest(name, candidates);
    return suggestion === undefined ? `"${name}"` : `"${name}" (did you mean "${suggestion}"?)`;
  });
  const what = unknown.length === 1 ? 'no host or group named' : 'no hosts or groups named';
  return new HostPatternError(`${what} ${described.join(', ')} in host pattern ${JSON.stringify(written)}`, unknown);
}
