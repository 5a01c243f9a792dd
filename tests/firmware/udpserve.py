# A UDP responder on loopback inside the test's own asyncio loop (the SNTP and DNS client tests):
# bound() takes a free port from a range, serve() answers each datagram with answer(req), and
# ticks() measures how long the client held the loop meanwhile.
import asyncio
import socket
import time


def bound(first):
    """(non-blocking UDP socket, port), bound to the first free port of first..first+99."""
    for port in range(first, first + 100):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
        except OSError:
            s.close()
            continue
        s.setblocking(False)
        return s, port
    raise OSError("no free UDP port")


async def serve(s, answer, seen=None):
    """Answer each datagram on s with answer(req) (None: no reply); seen collects the requests."""
    while True:
        try:
            req, addr = s.recvfrom(512)
        except OSError:
            await asyncio.sleep_ms(2)
            continue
        if seen is not None:
            seen.append(bytes(req))
        r = answer(req)
        if r is not None:
            s.sendto(r, addr)


async def ticks(gaps, stop):
    """Sleep 10 ms at a time until stop (a list) is non-empty, keeping in gaps[0] the longest
    gap between two ticks: how long the code under test held the loop."""
    last = time.ticks_ms()
    while not stop:
        await asyncio.sleep_ms(10)
        now = time.ticks_ms()
        gaps[0] = max(gaps[0], time.ticks_diff(now, last))
        last = now
