"""A misbehaving IOC for fault tests: PVs whose values are the wrong type, NaN, absurd, or a
100k-element array where one number belongs.

Run as ``python tests/monitoring/garbage_ioc.py PREFIX``; serves on EPICS_CA_SERVER_PORT.
"""

from __future__ import annotations

import asyncio
import sys
import time

from caproto import ChannelDouble, ChannelString
from caproto.asyncio.server import run

BIG = 100_000


def main(prefix: str) -> None:
    pvdb = {
        prefix + "TEXT": ChannelString(value="1.35 A"),  # a string where a current is expected
        prefix + "NAN": ChannelDouble(value=float("nan")),
        prefix + "HUGE": ChannelDouble(value=3.0e6),  # a 3 MA beam current
        prefix + "GOOD": ChannelDouble(value=1.0),
        prefix + "BIG": ChannelDouble(value=[0.0] * BIG, max_length=BIG),
    }

    async def churn(async_lib: object) -> None:
        k = 0
        while True:
            await asyncio.sleep(0.1)
            k += 1
            now = time.time()
            await pvdb[prefix + "TEXT"].write(f"{1.35 + 0.01 * (k % 3):.2f} A", timestamp=now)
            await pvdb[prefix + "NAN"].write(float("nan"), timestamp=now)
            await pvdb[prefix + "HUGE"].write(3.0e6 + k, timestamp=now)
            await pvdb[prefix + "GOOD"].write(1.0 + 0.001 * (k % 5), timestamp=now)
            if k % 5 == 0:
                await pvdb[prefix + "BIG"].write([1.35e3 + k] * BIG, timestamp=now)

    print("serving garbage", flush=True)
    run(pvdb, startup_hook=churn)


if __name__ == "__main__":
    main(sys.argv[1])
