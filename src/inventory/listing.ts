import type { Inventory, Vars } from './types.js';

export interface InventoryListing {
  hosts: Record<string, { address: string; port: number; user: string; groups: string[]; vars: Vars }>;
  groups: Record<string, string[]>;
}

/**
 * What `is-provision inventory --list` prints. Vars keep their Secrets, whose toJSON gives `***`, so
 * JSON.stringify of this never shows a secret value.
 */
export function inventoryListing(inventory: Inventory): InventoryListing {
  const hosts: InventoryListing['hosts'] = {};
  for (const host of inventory.hosts) {
    hosts[host.name] = {
      address: host.address,
      port: host.connection.port,
      user: host.connection.user,
      groups: [...host.groups],
      vars: { ...host.vars },
    };
  }
  const groups: InventoryListing['groups'] = {};
  for (const [name, members] of Object.entries(inventory.groups)) groups[name] = [...members];
  return { hosts, groups };
}
