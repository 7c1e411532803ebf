"""A bounded crowd of hostile HTTP clients against 127.0.0.1:PORT, for test_hostile_clients.py:
slowloris connections (a partial request line, then one byte every 2 s), idle keep-alives (one
request with `Connection: keep-alive`, then silence) and tight-loop clients (GET /metrics as fast
as they can). Each reconnects as soon as the server closes it, until SECONDS are over.
Prints one JSON line of counts at the end.

usage: hostile_clients.py PORT SECONDS SLOWLORIS IDLE TIGHT"""
import asyncio
import json
import sys
import time

counts = {"slowloris_connects": 0, "idle_connects": 0, "tight_requests": 0, "connect_errors": 0}


async def connect(port):
    try:
        return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    except (OSError, asyncio.TimeoutError):
        counts["connect_errors"] += 1
        await asyncio.sleep(0.1)
        return None


async def close(writer):
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass


async def slowloris(port, deadline):
    while time.monotonic() < deadline:
        conn = await connect(port)
        if conn is None:
            continue
        reader, writer = conn
        counts["slowloris_connects"] += 1
        try:
            writer.write(b"GET /metr")
            for byte in b"ics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000:
                if time.monotonic() >= deadline or reader.at_eof():
                    break
                await asyncio.sleep(2)
                writer.write(bytes([byte]))
                await writer.drain()
        except OSError:
            pass
        await close(writer)


async def idle_keepalive(port, deadline):
    while time.monotonic() < deadline:
        conn = await connect(port)
        if conn is None:
            continue
        reader, writer = conn
        counts["idle_connects"] += 1
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
            await writer.drain()
            # Silence until the server closes the connection (EOF) or the time is over.
            while time.monotonic() < deadline:
                try:
                    if not await asyncio.wait_for(reader.read(65536), deadline - time.monotonic()):
                        break
                except asyncio.TimeoutError:
                    break
        except OSError:
            pass
        await close(writer)


async def tight_loop(port, deadline):
    while time.monotonic() < deadline:
        conn = await connect(port)
        if conn is None:
            continue
        reader, writer = conn
        try:
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            await writer.drain()
            await asyncio.wait_for(reader.read(), max(0.1, deadline - time.monotonic()))
            counts["tight_requests"] += 1
        except (OSError, asyncio.TimeoutError):
            pass
        await close(writer)


async def main(port, seconds, n_slow, n_idle, n_tight):
    deadline = time.monotonic() + seconds
    tasks = [slowloris(port, deadline) for _ in range(n_slow)]
    tasks += [idle_keepalive(port, deadline) for _ in range(n_idle)]
    tasks += [tight_loop(port, deadline) for _ in range(n_tight)]
    await asyncio.wait_for(asyncio.gather(*tasks), seconds + 15)


if __name__ == "__main__":
    port, seconds, n_slow, n_idle, n_tight = (int(a) for a in sys.argv[1:6])
    asyncio.run(main(port, seconds, n_slow, n_idle, n_tight))
    print(json.dumps(counts), flush=True)
