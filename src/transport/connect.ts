import type { ConnectionSettings } from '../inventory/types.js';
import { localTransport } from './local.js';
import { connectSsh } from './ssh.js';
import type { Transport } from './types.js';

/** Opens the transport a host's settings ask for: SSH, or this machine for `transport = "local"`. */
export async function connect(hostName: string, settings: ConnectionSettings): Promise<Transport> {
  if (settings.transport === 'local') return localTransport(hostName);
  return connectSsh(hostName, settings);
}
