export type { ConnectionSettings, Host, HostKeyChecking, Inventory, VarValue, Vars } from './types.js';
export { InventoryError } from './errors.js';
export { loadInventory, type LoadOptions } from './load.js';
export { inventoryListing, type InventoryListing } from './listing.js';
export { selectHosts, HostPatternError } from './select.js';
export {
  SshConfig,
  parseSshConfig,
  parseProxyJump,
  type JumpHost,
  type SshConfigOptions,
  type SshConfigQuery,
  type SshConfigReader,
  type SshConfigResult,
} from './ssh-config.js';
