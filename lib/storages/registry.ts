// Every backend cacheme opens from a url. A backend is one module exporting its descriptor
// (backend.ts); listing it here is all storage.ts needs to open it, and its options join
// StorageOptions through BackendOptions. A backend of your own needs no entry: give its adapter to
// registerStorage (storage.ts).

import type { Backend, OptionsOf } from './backend'
import { localBackend } from './local'
import { mongodbBackend } from './mongodb'
import { mysqlBackend } from './mysql'
import { postgresqlBackend } from './postgresql'
import { redisBackend } from './redis'
import { sqliteBackend } from './sqlite'

export const BACKENDS = [
  localBackend,
  sqliteBackend,
  redisBackend,
  postgresqlBackend,
  mysqlBackend,
  mongodbBackend,
] as const satisfies readonly Backend[]

type Intersection<U> = (U extends unknown ? (union: U) => void : never) extends (all: infer I) => void
  ? I
  : never

/** The options of every listed backend, as `new Storage({ url, ...options })` takes them. */
export type BackendOptions = Intersection<OptionsOf<(typeof BACKENDS)[number]>>

const BY_SCHEME: ReadonlyMap<string, Backend> = new Map(
  BACKENDS.flatMap((backend): [string, Backend][] => backend.schemes.map((scheme) => [scheme, backend])),
)

/** The backend that opens urls of `scheme` (any case), if one is listed. */
export function backendFor(scheme: string): Backend | undefined {
  return BY_SCHEME.get(scheme.toLowerCase())
}

/** Every scheme a url may start with, for messages: `local://, sqlite://, …`. */
export const KNOWN_SCHEMES = BACKENDS.flatMap((backend) => backend.schemes.map((scheme) => `${scheme}://`))
