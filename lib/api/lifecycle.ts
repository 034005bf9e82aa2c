// Ending cacheme's use of its resources: close() releases storages (and the bus) so the process can exit.

import { closeCoherence } from '../coherence'
import { unresolveAll } from '../runtime/resolve'
import { closeStorages } from '../storages/storage'

/** Closes the bus and every storage (connections, worker threads) so the process can exit; names can be registered again. */
export async function close(): Promise<void> {
  unresolveAll()
  const bus = closeCoherence()
  await Promise.all([bus, closeStorages()])
}
