// The bus on PostgreSQL LISTEN/NOTIFY; killSubscriber is pg_terminate_backend of the LISTEN backend.

import { URLS, withServer } from '../storages/servers'
import { postgresBackend } from './helpers'
import { busSuite } from './suite'

withServer('postgresql', URLS.postgresql, () => {
  busSuite(postgresBackend(URLS.postgresql))
})
