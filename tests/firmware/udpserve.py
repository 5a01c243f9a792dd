# A UDP responder on loopback inside the test's own asyncio loop (the SNTP and DNS client tests):
# bound() takes a free port from a range, serve() answers each datagram with answer(req).
import asyncio
import socket


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
