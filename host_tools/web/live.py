"""Live updates for the pages: the backend's MQTT listener (a paho thread) hands each event to
every open server-sent-event stream's asyncio queue, bounded, dropping the oldest for a slow page."""
import asyncio
import json
import time

QUEUE_MAX = 256


def summarize(dev, kind, payload):
    """What a page needs of one backend event (records are summarised, never sent whole)."""
    ev = {"dev": dev, "kind": kind, "at_ms": int(time.time() * 1000)}
    if kind == "recs":
        ev["recs"] = [{k: r.get(k) for k in ("seq", "type", "sid", "energy_wh", "power_w", "code", "active")
                       if k in r} for r in payload[-20:]]
    elif kind == "reply":
        ev["reply"] = {"id": payload.get("id"), "ok": payload.get("ok")}
    else:
        ev[kind] = payload
    return ev


class Hub:
    def __init__(self):
        self._subs = set()
        self.loop = None

    def attach(self, backend):
        backend.listeners.append(self.publish)

    def publish(self, dev, kind, payload):
        loop = self.loop
        if loop is None or not self._subs:
            return
        text = json.dumps(summarize(dev, kind, payload))
        loop.call_soon_threadsafe(self._fan_out, text)

    def _fan_out(self, text):
        for q in list(self._subs):
            if q.full():
                q.get_nowait()
            q.put_nowait(text)

    async def stream(self, is_disconnected):
        self.loop = asyncio.get_running_loop()
        q = asyncio.Queue(QUEUE_MAX)
        self._subs.add(q)
        try:
            yield "retry: 1000\n\n"
            while not await is_disconnected():
                try:
                    text = await asyncio.wait_for(q.get(), 15)
                except asyncio.TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield "data: %s\n\n" % text
        finally:
            self._subs.discard(q)
