// A bus in a process of its own, driven by processes.test.ts over IPC. argv: options JSON, channel.
// It reports what its bus delivers and exits by itself once its bus is closed and the parent
// disconnects, which also proves close() leaves nothing holding the process open.

import { Bus, type BusStats } from '../../lib/bus/bus'

export type PeerCommand = { readonly type: 'publish'; readonly keys: string[] } | { readonly type: 'close' }

export type PeerEvent =
  | { readonly type: 'open'; readonly id: string }
  | { readonly type: 'invalidate'; readonly keys: readonly string[] }
  | { readonly type: 'resync' }
  | { readonly type: 'closed'; readonly stats: BusStats }
  | { readonly type: 'failed'; readonly message: string }

const send = (event: PeerEvent) => process.send?.(event)

async function main(): Promise<void> {
  const bus = new Bus(JSON.parse(process.argv[2] as string))
  await bus.open(
    { invalidate: (keys) => send({ type: 'invalidate', keys }), resync: () => send({ type: 'resync' }) },
    process.argv[3] as string,
  )
  process.on('message', (command: PeerCommand) => {
    if (command.type === 'publish') bus.publish(command.keys)
    else void bus.close().then(() => send({ type: 'closed', stats: bus.stats() }))
  })
  send({ type: 'open', id: bus.id })
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: String(error) })
  process.disconnect?.()
})
