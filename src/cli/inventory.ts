import { loadInventory, inventoryListing } from '../inventory/load.js';
import { UsageError } from '../engine/errors.js';
import { printLine } from '../output/index.js';
import type { ExitCode } from './exit.js';

export async function inventoryCommand(args: { inventory: string; host?: string }): Promise<ExitCode> {
  const inventory = await loadInventory(args.inventory);
  const listing = inventoryListing(inventory) as { hosts: Record<string, unknown> };
  if (args.host !== undefined) {
    const host = listing.hosts[args.host];
    if (host === undefined) throw new UsageError(`no host "${args.host}" in ${inventory.file}`);
    printLine(JSON.stringify(host, null, 2));
    return 0;
  }
  printLine(JSON.stringify(listing, null, 2));
  return 0;
}
