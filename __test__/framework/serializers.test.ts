// Every serializer round-trips what it promises, the compressed ones shrink repetitive data, and
// failures are SerializationErrors.

import test from 'ava'
import {
  CompressedJSONSerializer,
  CompressedMsgPackSerializer,
  CompressedV8Serializer,
  JSONSerializer,
  MsgPackSerializer,
  SerializationError,
  type Serializer,
  V8Serializer,
} from '../../lib'

const plain = {
  id: 7,
  name: 'Zoë 🐙',
  tags: ['a', 'b'],
  nested: { ok: true, none: null, ratio: 0.25, big: 2 ** 40 },
}

const all: [string, Serializer][] = [
  ['JSON', new JSONSerializer()],
  ['MsgPack', new MsgPackSerializer()],
  ['V8', new V8Serializer()],
  ['CompressedJSON', new CompressedJSONSerializer()],
  ['CompressedMsgPack', new CompressedMsgPackSerializer()],
  ['CompressedV8', new CompressedV8Serializer()],
]

for (const [name, serializer] of all) {
  test(`${name} round-trips plain data into a Buffer`, (t) => {
    const payload = serializer.dumps(plain)
    t.true(Buffer.isBuffer(payload))
    t.deepEqual(serializer.loads(payload), plain)
    t.deepEqual(serializer.loads(serializer.dumps([1, 'two', null])), [1, 'two', null])
    t.is(serializer.loads(serializer.dumps('text')), 'text')
  })

  test(`${name} refuses a function instead of dropping it`, (t) => {
    const error = t.throws(() => serializer.dumps({ f: () => 1 }), { instanceOf: SerializationError })
    t.is(error?.code, 'CACHEME_SERIALIZATION')
  })

  test(`${name} reports undecodable bytes as SerializationError`, (t) => {
    t.throws(() => serializer.loads(Buffer.from([0xc1, 0xff, 0x00, 0x7b])), {
      instanceOf: SerializationError,
    })
  })
}

test('JSON refuses cycles and BigInt', (t) => {
  const cyclic: { self?: unknown } = {}
  cyclic.self = cyclic
  t.throws(() => new JSONSerializer().dumps(cyclic), { instanceOf: SerializationError })
  t.throws(() => new JSONSerializer().dumps({ n: 1n }), { instanceOf: SerializationError })
})

test('MsgPack keeps Dates', (t) => {
  const when = new Date('2024-02-29T12:34:56.789Z')
  const back = new MsgPackSerializer().loads(new MsgPackSerializer().dumps({ when })) as { when: Date }
  t.true(back.when instanceof Date)
  t.is(back.when.getTime(), when.getTime())
})

for (const serializer of [new V8Serializer(), new CompressedV8Serializer()]) {
  test(`${serializer.constructor.name} round-trips Map, Set, Date, BigInt, typed arrays and cycles`, (t) => {
    const value = {
      map: new Map<string, number>([['a', 1]]),
      set: new Set([1, 2]),
      when: new Date(0),
      big: 2n ** 80n,
      bytes: new Uint8Array([1, 2, 3]),
      floats: new Float64Array([0.5]),
      self: undefined as unknown,
    }
    value.self = value
    const back = serializer.loads(serializer.dumps(value)) as typeof value
    t.true(back.map instanceof Map)
    t.is(back.map.get('a'), 1)
    t.true(back.set instanceof Set)
    t.true(back.set.has(2))
    t.true(back.when instanceof Date)
    t.is(back.big, 2n ** 80n)
    t.deepEqual([...back.bytes], [1, 2, 3])
    t.true(back.floats instanceof Float64Array)
    t.is(back.self, back)
  })
}

test('compressed serializers are smaller than their plain counterpart on repetitive data', (t) => {
  const rows = Array.from({ length: 200 }, (_, i) => ({
    id: i,
    status: 'active',
    country: 'NL',
    plan: 'premium',
  }))
  const pairs: [Serializer, Serializer][] = [
    [new JSONSerializer(), new CompressedJSONSerializer()],
    [new MsgPackSerializer(), new CompressedMsgPackSerializer()],
    [new V8Serializer(), new CompressedV8Serializer()],
  ]
  for (const [raw, compressed] of pairs) {
    const small = compressed.dumps(rows)
    t.true(small.length * 3 < raw.dumps(rows).length, `${compressed.constructor.name}: ${small.length} bytes`)
    t.deepEqual(compressed.loads(small), rows)
  }
})
