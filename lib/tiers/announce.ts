// Where writes to shared tiers are announced once they have settled, for the invalidation bus
// (coherence.ts) to tell other processes. Unset without a bus, so that writes then pay one check.

/** Receives stored keys this process has just written to, or removed from, a shared tier. */
export type Announcer = (keys: readonly string[]) => void

export let announcer: Announcer | undefined

export function setAnnouncer(next: Announcer | undefined): void {
  announcer = next
}

/** Announces `keys` once `done` settles (whether the write succeeded: a failed one may have landed). */
export function announceAfter(done: Promise<unknown>, keys: readonly string[]): void {
  const announce = announcer
  if (announce === undefined) return
  const send = () => announce(keys)
  void done.then(send, send)
}
