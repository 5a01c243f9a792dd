"""A TCP proxy for network faults between the agent and the broker.

Modes: "pass" forwards (after `latency_ms` each way); "blackhole" keeps connections open
and accepts new ones but forwards nothing, like a partition where packets vanish; "drop"
resets every connection and every new one, like a peer that is gone. Runs its asyncio loop
in a thread, so a test drives it from plain code:

    with TcpProxy(broker_port, latency_ms=50) as p:
        ... connect to p.port ...
        p.set_mode("blackhole")

    python -m host_tools.testing.tcpproxy --listen 1884 --target 1883 --latency-ms 50
"""
import argparse
import asyncio
import socket
import threading
import time


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TcpProxy:
    MODES = ("pass", "blackhole", "drop")

    def __init__(self, target_port, target_host="127.0.0.1", port=None, latency_ms=0):
        self.target = (target_host, target_port)
        self.port = port or _free_port()
        self.latency_s = latency_ms / 1000
        self.mode = "pass"
        self.accepted = 0
        self._conns = set()
        self._loop = None
        self._thread = None
        self._server = None

    # ---- control (any thread) ------------------------------------------------------
    def start(self):
        ready = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("proxy did not start")
        return self

    def set_mode(self, mode):
        if mode not in self.MODES:
            raise ValueError("mode must be one of %s" % (self.MODES,))
        self.mode = mode
        if mode == "drop":
            self._loop.call_soon_threadsafe(self._abort_all)

    def stop(self):
        if self._loop:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- the loop ------------------------------------------------------------------
    def _main(self, ready):
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port))
        ready.set()
        self._loop.run_forever()
        self._abort_all()
        self._server.close()
        tasks = asyncio.all_tasks(self._loop)
        for t in tasks:
            t.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    def _abort_all(self):
        for w in list(self._conns):
            w.transport.abort()
        self._conns.clear()

    async def _handle(self, reader, writer):
        self.accepted += 1
        if self.mode == "drop":
            writer.transport.abort()
            return
        try:
            ur, uw = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._conns.update((writer, uw))
        try:
            await asyncio.gather(self._pipe(reader, uw), self._pipe(ur, writer))
        except asyncio.CancelledError:
            pass  # the proxy is stopping
        finally:
            for w in (writer, uw):
                self._conns.discard(w)
                w.transport.abort()

    async def _pipe(self, reader, writer):
        q = asyncio.Queue()

        async def deliver():
            while True:
                item = await q.get()
                if item is None:
                    writer.transport.abort()
                    return
                due, data = item
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if self.mode != "pass":
                    continue  # swallowed in flight
                writer.write(data)
                await writer.drain()

        task = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if self.mode == "pass":
                    q.put_nowait((time.monotonic() + self.latency_s, data))
        except (ConnectionError, OSError):
            pass
        q.put_nowait(None)
        try:
            await task
        except (ConnectionError, OSError):
            pass


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host_tools.testing.tcpproxy", description=__doc__.split("\n")[0])
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--target-host", default="127.0.0.1")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--mode", choices=TcpProxy.MODES, default="pass")
    args = ap.parse_args(argv)
    p = TcpProxy(args.target, args.target_host, args.listen, args.latency_ms).start()
    p.set_mode(args.mode)
    print("tcpproxy: 127.0.0.1:%d -> %s:%d (%s, %d ms each way)"
          % (p.port, args.target_host, args.target, args.mode, args.latency_ms), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        p.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
