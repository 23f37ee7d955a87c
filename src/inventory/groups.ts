import { didYouMean } from '../util/did-you-mean.js';
import type { InventoryDocument } from './schema.js';
import { scopeOf, type TomlSource } from './toml-source.js';

export interface GroupGraph {
  /** Declared group name to its hosts, direct and through child groups. */
  members: Map<string, Set<string>>;
  /**
   * Declared groups in the order their vars apply, lowest first: parents before children (a child
   * group is the more specific one, so its vars win, as in Ansible), ties in declaration order.
   */
  order: string[];
}

export function buildGroups(document: InventoryDocument, source: TomlSource): GroupGraph {
  const hostNames = document.hosts.map((host) => host.name);
  const hostSet = new Set(hostNames);
  const byName = new Map(document.groups.map((group) => [group.name, group]));
  const groupNames = [...byName.keys()];

  for (const group of document.groups) {
    const at = ['groups', group.name];
    group.hosts.forEach((host, index) => {
      if (!hostSet.has(host)) {
        throw source.error([...at, 'hosts', index], `unknown host "${host}" ${scopeOf(at)}${didYouMean(host, hostNames)}`);
      }
    });
    group.children.forEach((child, index) => {
      if (child === 'all') throw source.error([...at, 'children', index], `"all" cannot be a child group ${scopeOf(at)}: it already contains every host`);
      if (!byName.has(child)) {
        throw source.error([...at, 'children', index], `unknown child group "${child}" ${scopeOf(at)}${didYouMean(child, groupNames)}`);
      }
    });
  }

  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    if (done.has(name)) return;
    stack.push(name);
    const children = byName.get(name)?.children ?? [];
    children.forEach((child, index) => {
      const start = stack.indexOf(child);
      if (start >= 0) {
        const cycle = [...stack.slice(start), child].join(' -> ');
        throw source.error(['groups', name, 'children', index], `group cycle: ${cycle}`);
      }
      visit(child);
    });
    stack.pop();
    done.add(name);
  };
  groupNames.forEach(visit);

  const members = new Map<string, Set<string>>();
  const collect = (name: string): Set<string> => {
    const known = members.get(name);
    if (known) return known;
    const group = byName.get(name);
    const set = new Set(group?.hosts ?? []);
    for (const child of group?.children ?? []) for (const host of collect(child)) set.add(host);
    // Inventory order, whatever order the group lists them in.
    const ordered = new Set(hostNames.filter((host) => set.has(host)));
    members.set(name, ordered);
    return ordered;
  };
  groupNames.forEach(collect);

  const parents = new Map<string, string[]>();
  for (const group of document.groups) {
    for (const child of group.children) parents.set(child, [...(parents.get(child) ?? []), group.name]);
  }
  const depths = new Map<string, number>();
  const depth = (name: string): number => {
    const known = depths.get(name);
    if (known !== undefined) return known;
    const value = Math.max(-1, ...(parents.get(name) ?? []).map(depth)) + 1;
    depths.set(name, value);
    return value;
  };
  const declared = new Map(groupNames.map((name, index) => [name, index]));
  const order = [...groupNames].sort((a, b) => depth(a) - depth(b) || (declared.get(a) ?? 0) - (declared.get(b) ?? 0));
  return { members, order };
}
