// What a serializer is, and the one rule every built-in follows: failures surface as
// SerializationError, never as a bare exception from the codec underneath.

import { SerializationError } from '../errors'

/**
 * Turns values into bytes for remote storages and back. Local storages keep live values and never
 * use one. A custom serializer is any object with these two methods; `loads` may throw on bad input
 * (cacheme turns that into a miss plus a reported error).
 */
export interface Serializer {
  dumps(value: unknown): Buffer
  loads(payload: Buffer): unknown
  /**
   * Optional: decodes `payload` from byte `start` on, as `loads(payload.subarray(start))` would,
   * without making that view. cacheme reads every stored payload past its header (frame.ts), and on
   * a batch read the views cost as much as a fast codec's work.
   */
  loadsFrom?(payload: Buffer, start: number): unknown
  /**
   * Names the format in the two-byte header of every stored payload (see frame.ts), so that bytes
   * written by another serializer read as a miss instead of as wrong data. Built-ins use 1–63; give
   * a custom serializer its own number from 64 to 255 (without one it is 0, shared by all custom
   * serializers).
   */
  readonly tag?: number
}

/** Tags of the built-in serializers; a compressed one is its inner tag plus COMPRESSED. */
export const TAGS = { json: 1, msgpack: 2, v8: 3, compressed: 16 } as const

/** Runs a codec step, rethrowing its failure as a SerializationError that keeps the cause. */
export function guard<R>(what: string, step: () => R): R {
  try {
    return step()
  } catch (error) {
    throw codecError(what, error)
  }
}

/** `error` from a codec step as a SerializationError that keeps the cause. */
export function codecError(what: string, error: unknown): SerializationError {
  if (error instanceof SerializationError) return error
  const reason = error instanceof Error ? error.message : String(error)
  return new SerializationError('CACHEME_SERIALIZATION', `${what}: ${reason}`, { cause: error })
}

export function isSerializer(value: unknown): value is Serializer {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Serializer).dumps === 'function' &&
    typeof (value as Serializer).loads === 'function'
  )
}
