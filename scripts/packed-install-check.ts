// Compiled with `tsc --noEmit --strict` in a fresh project that installed the packed tarballs:
// the published types must let a user define a node and get a typed value from it, and must not
// need the optional exporters' packages (not installed there) to compile.
import {
  BloomFilter,
  Cache,
  get,
  type Instrumentation,
  instrumentOpenTelemetry,
  LocalStore,
  Node,
  on,
  registerPrometheus,
  registerStorage,
  Storage,
} from 'cacheme'

interface User {
  id: number
  name: string
}

class UserNode extends Node<User> {
  static meta = {
    version: 'v1',
    caches: [new Cache({ storage: 'local', ttl: 30_000 })],
    doorkeeper: new BloomFilter(1000, 0.01),
  }
  constructor(readonly userId: number) {
    super()
  }
  key() {
    return `user:${this.userId}`
  }
  async load(): Promise<User> {
    return { id: this.userId, name: 'Ada' }
  }
}

export async function main(): Promise<string> {
  await registerStorage('local', new Storage({ url: 'local://tlfu', size: 1000 }))
  const user: User = await get(new UserNode(1))
  // @ts-expect-error get(UserNode) resolves to User, not number
  const wrong: number = await get(new UserNode(1))
  const store = new LocalStore('tlfu', 100)
  store.set('k', user)
  const stop = on('hit', (event) => event.node.length)
  stop()
  const exporters: Array<() => Instrumentation> = [instrumentOpenTelemetry, registerPrometheus]
  return `${user.name} ${String(wrong)} ${exporters.length}`
}
