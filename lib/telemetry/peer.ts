// The exporters' packages are optional peer dependencies: loaded by the integration that needs them,
// when the user calls it, so that requiring cacheme never requires them.

import { InvalidArgumentError } from '../errors'

/** `name` as require() gives it, or an error naming the feature and the npm install line. */
export function requirePeer<T>(name: string, feature: string): T {
  try {
    return require(name) as T
  } catch (error) {
    throw new InvalidArgumentError(
      'CACHEME_INVALID_ARGUMENT',
      `${feature} needs the ${name} package: npm install ${name}`,
      { cause: error },
    )
  }
}
