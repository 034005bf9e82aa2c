"""The Python original (`pip install cacheme`) on the workload of benchmark/herd200k.ts.

Reads the request keys (one per line) that herd200k.ts generated, so both implementations see the
same 200k requests, and runs them the way the original's own benchmark does: `concurrency` workers
drain a queue holding one `await get(node)` per request; the node's load sleeps 100 ms; Redis GETs
are counted with a response callback on the storage's client, loads with a counter in `load`.
Each scenario gets its own key prefix, so every scenario starts cold without FLUSHALL (other
processes may share the server).

    python benchmark/original/herd200k.py --keys FILE --redis URL --concurrency 1000,10000 --run ID

Prints one JSON object per scenario on stdout.
"""

import argparse
import asyncio
import json
import time
from dataclasses import dataclass
from typing import cast

import redis.asyncio as redis_asyncio

from cacheme import Cache, Node, Storage, get, register_storage, set_prefix
from cacheme.data import list_storages
from cacheme.serializer import MsgPackSerializer


def node_class(tiers, serializer):
    @dataclass
    class FooNode(Node):
        uid: str
        loads = 0

        def key(self) -> str:
            return f"uid:{self.uid}"

        async def load(self) -> str:
            FooNode.loads += 1
            await asyncio.sleep(0.1)
            return self.uid

        class Meta(Node.Meta):
            version = "v1"
            caches = tiers

    FooNode.Meta.serializer = serializer
    return FooNode


async def worker(queue: asyncio.Queue):
    while True:
        try:
            task = queue.get_nowait()
        except asyncio.QueueEmpty:
            return
        await task


async def scenario(keys, concurrency, two_tier, run_id, redis_url, index):
    set_prefix(f"{run_id}py{index}")
    await register_storage("redis", Storage(url=redis_url))
    client = cast(redis_asyncio.Redis, list_storages()["redis"]._storage.client)
    gets = 0

    def count(response, **_):
        nonlocal gets
        gets += 1
        return response

    client.set_response_callback("GET", count)
    tiers = [Cache(storage="redis", ttl=None)]
    if two_tier:
        local = f"local{index}"
        await register_storage(local, Storage(url="local://tlfu", size=3000))
        tiers = [Cache(storage=local, ttl=None)] + tiers
    FooNode = node_class(tiers, MsgPackSerializer())

    async def one(uid):
        assert await get(FooNode(uid=uid)) == uid

    queue: asyncio.Queue = asyncio.Queue()
    for uid in keys:
        queue.put_nowait(one(uid))
    start = time.perf_counter()
    await asyncio.gather(*[worker(queue) for _ in range(concurrency)])
    seconds = time.perf_counter() - start
    await client.aclose() if hasattr(client, "aclose") else await client.close()
    return {
        "concurrency": concurrency,
        "tiers": "local tlfu 3000 -> redis" if two_tier else "redis",
        "seconds": seconds,
        "redisGets": gets,
        "loads": FooNode.loads,
    }


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", required=True)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--concurrency", default="1000,10000,100000")
    parser.add_argument("--run", default="bench")
    args = parser.parse_args()
    with open(args.keys) as f:
        keys = [line.strip() for line in f if line.strip()]
    index = 0
    for concurrency in [int(c) for c in args.concurrency.split(",")]:
        for two_tier in (False, True):
            index += 1
            try:
                result = await scenario(keys, concurrency, two_tier, args.run, args.redis, index)
            except Exception as error:  # report the failure of one scenario and go on
                result = {
                    "concurrency": concurrency,
                    "tiers": "local tlfu 3000 -> redis" if two_tier else "redis",
                    "seconds": 0,
                    "redisGets": 0,
                    "loads": 0,
                    "error": f"{type(error).__module__}.{type(error).__name__}: {error}",
                }
            print(json.dumps(result), flush=True)


asyncio.run(main())
