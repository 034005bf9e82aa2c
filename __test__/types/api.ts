// Compile-time tests of the public types (`npm run test:types`). Never run: every `@ts-expect-error`
// line must fail to compile, or tsc reports the directive as unused.

import {
  buildNode,
  Cache,
  get,
  getAll,
  invalidate,
  MsgPackSerializer,
  memoize,
  Node,
  type NodeClass,
  type NodeStats,
  type NodeValue,
  nodes,
  refresh,
  registerStorage,
  Storage,
  set,
  setAll,
  stats,
} from 'cacheme'

interface User {
  id: number
  name: string
}

interface Book {
  isbn: string
}

class UserNode extends Node<User> {
  static meta = {
    version: 'v1',
    caches: [new Cache({ storage: 'local', ttl: 30_000 })],
    serializer: new MsgPackSerializer(),
  }
  constructor(readonly userId: number) {
    super()
  }
  key() {
    return `user:${this.userId}`
  }
  async load(): Promise<User> {
    return { id: this.userId, name: 'n' }
  }
  static async loadAll(nodes: UserNode[]): Promise<User[]> {
    return nodes.map((node) => ({ id: node.userId, name: 'n' }))
  }
}

class BookNode extends Node<Book> {
  static meta = { version: 'v1', caches: [new Cache({ storage: 'local', ttl: null })] }
  key() {
    return 'book'
  }
  async load(): Promise<Book> {
    return { isbn: 'x' }
  }
}

export async function typeTests(): Promise<void> {
  await registerStorage('local', new Storage({ url: 'local://tlfu', size: 1000 }))

  // get: the node's value type flows through.
  const user: User = await get(new UserNode(1))
  const name: string = (await get(new UserNode(1))).name
  // @ts-expect-error a UserNode resolves to a User, not a Book
  const wrong: Book = await get(new UserNode(1))
  // @ts-expect-error not a node: an object with key/load is not enough
  await get({ key: () => 'k', load: async () => 1 })
  // @ts-expect-error a key string is not a node
  await get('user:1')

  // getAll: an array of the node's value type; mixed classes do not compile.
  const users: User[] = await getAll([new UserNode(1), new UserNode(2)])
  // @ts-expect-error the result is User[], not Book[]
  const books: Book[] = await getAll([new UserNode(1)])
  // @ts-expect-error nodes of one class only
  await getAll([new UserNode(1), new BookNode()])

  // refresh and invalidate.
  const refreshed: User = await refresh(new UserNode(1))
  await invalidate(new UserNode(1))
  // @ts-expect-error refresh resolves to the node's value type
  const refreshedWrong: number = await refresh(new UserNode(1))

  // set and setAll take the node's value type.
  await set(new UserNode(1), { id: 1, name: 'Ada' })
  // @ts-expect-error a UserNode holds a User, not a Book
  await set(new UserNode(1), { isbn: 'x' })
  // @ts-expect-error a UserNode holds a User, not a string
  await set(new UserNode(1), 'Ada')
  await setAll(
    [new UserNode(1), new UserNode(2)],
    [
      { id: 1, name: 'Ada' },
      { id: 2, name: 'Bo' },
    ],
  )
  // @ts-expect-error values must be Users
  await setAll([new UserNode(1)], [{ isbn: 'x' }])
  // @ts-expect-error nodes of one class only
  await setAll([new UserNode(1), new BookNode()], [{ id: 1, name: 'Ada' }, { isbn: 'x' }])
  // A ttl may be a function of the value.
  new Cache({ storage: 'local', ttl: (user: User | null) => (user === null ? 0 : 60_000) })

  // memoize: the function must produce the node's value type; the mapper must return a node of it.
  const getUser = memoize(UserNode)(async (id: number, _lang: string) => ({ id, name: 'm' })).toNode(
    (id) => new UserNode(id),
  )
  const memoized: User = await getUser(1, 'en')
  // @ts-expect-error arguments are the wrapped function's
  await getUser('1', 'en')
  // @ts-expect-error the wrapped function must resolve to a User
  memoize(UserNode)(async (id: number) => ({ isbn: String(id) }))
  // @ts-expect-error the mapper must return a node of User
  memoize(UserNode)(async (id: number) => ({ id, name: 'm' })).toNode(() => new BookNode())

  // buildNode: argument and value types come from key/load.
  const FeedNode = buildNode('feed', {
    version: 'v1',
    caches: [new Cache({ storage: 'local', ttl: 1000 })],
    key: (userId: number, page: number) => `feed:${userId}:${page}`,
    load: async (userId: number, page: number) => [`post ${userId}/${page}`],
  })
  const feed: string[] = await get(new FeedNode(1, 2))
  const args: readonly [number, number] = new FeedNode(1, 2).args
  // @ts-expect-error constructor arguments are key/load's
  new FeedNode('1', 2)
  // @ts-expect-error the value type is string[]
  const feedWrong: number = await get(new FeedNode(1, 2))

  // Helpers.
  const value: NodeValue<UserNode> = user
  const classes: NodeClass[] = nodes()
  const metrics: NodeStats = stats(UserNode)
  const rate: number = metrics.hitRate
  // @ts-expect-error stats takes a node class, not a node
  stats(new UserNode(1))
  // @ts-expect-error ttl is required (null for none)
  new Cache({ storage: 'local' })

  void [
    name,
    wrong,
    users,
    books,
    refreshed,
    refreshedWrong,
    memoized,
    feed,
    args,
    feedWrong,
    value,
    classes,
    rate,
  ]
}
