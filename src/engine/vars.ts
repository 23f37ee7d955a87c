import type { Host, Inventory } from '../inventory/types.js';
import { selectHosts } from '../inventory/select.js';
import type { HostView, InventoryView, Play, Playbook } from '../playbook/types.js';

export function hostView(host: Host): HostView {
  return Object.freeze({ name: host.name, address: host.address, groups: host.groups, vars: host.vars });
}

export function inventoryView(inventory: Inventory): InventoryView {
  return Object.freeze({
    hosts: (pattern: string | string[] = 'all') => selectHosts(inventory, pattern).map(hostView),
    groups: inventory.groups,
  });
}

/**
 * Vars precedence, lowest first: the host's own facts as Ansible names them (inventory_hostname,
 * group_names) < playbook < inventory (its [vars], groups, host) < play < -e.
 */
export function mergedVars(playbook: Playbook, host: Host, play: Play, extra: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const builtin = { inventory_hostname: host.name, inventory_address: host.address, group_names: host.groups };
  return Object.freeze({ ...builtin, ...playbook.vars, ...host.vars, ...(play.vars ?? {}), ...extra });
}

/** Parses `-e key=value` pairs; a value that is JSON (numbers, true, arrays, objects) is taken as such. */
export function parseExtraVars(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`-e takes key=value, not ${JSON.stringify(pair)}`);
    const key = pair.slice(0, eq);
    const text = pair.slice(eq + 1);
    let value: unknown = text;
    if (/^(-?\d+(\.\d+)?|true|false|null|\[.*\]|\{.*\})$/s.test(text)) {
      try {
        value = JSON.parse(text);
      } catch {
        value = text;
      }
    }
    out[key] = value;
  }
  return out;
}
