"""The web console (issue 19; docs/bench.md, web):

- web_list_p95_ms_1m: p95 server time of the sessions list page (the whole request: log-in
  check, query, template) over 1,000,000 sessions on PostgreSQL, across first pages, deep
  keyset pages and filtered pages. Same run, same depths: web_list_deep_offset_p95_ms_1m, the
  OFFSET paging the keyset replaces (query only), and web_list_deep_keyset_p95_ms_1m (query only).
- web_live_latency_ms: p95 from a device's connector message published on the broker to the
  chargers page in chromium having applied it (same host clock); web_live_mqtt_floor_ms: the
  same messages' p95 at a plain MQTT subscriber, the transport's own share.
"""
import json
import os
import random
import shutil
import time

GOAL_LIST_MS = 200
GOAL_LIVE_MS = 1000
N_SESSIONS = int(os.environ.get("LADDVAKT_BENCH_WEB_SESSIONS", "1000000"))
T0 = 1767225600  # 2026-01-01T00:00:00Z; one session a minute from here
PASSWORD = "bench-password"


def p95(xs):
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(0.95 * len(xs)))], 1)


def fill(db, n):
    """n sessions (and their checks) straight into the store's tables, in SQL (mod(), not %,
    which the driver would read as a placeholder)."""
    db.execute("""INSERT INTO sessions SELECT 'bench-' || lpad(i::text, 7, '0'), 'st-' || mod(i, 200),
        'feedfeed' || lpad(mod(i, 200)::text, 4, '0'), {t0} + i * 60, 'synced', {t0} + i * 60 + 3000, 0, 7000,
        7000 + mod(i, 3000), 3000, 'EVDisconnected', 'TAG' || mod(i, 5000), 'SEK', 2, 250, 1750 + mod(i, 700), i
        FROM generate_series(1, {n}) AS i""".format(t0=T0, n=n))
    db.execute("""INSERT INTO checks SELECT 'bench-' || lpad(i::text, 7, '0'), 'feedfeed' ||
        lpad(mod(i, 200)::text, 4, '0'), 'st-' || mod(i, 200), i, CASE WHEN mod(i, 97) = 0 THEN 'pending'
        WHEN mod(i, 1001) = 0 THEN 'mismatch' ELSE 'ok' END, 1750, 1750, 'valid', NULL, NULL
        FROM generate_series(1, {n}) AS i""".format(n=n))
    db.execute("ANALYZE sessions")
    db.execute("ANALYZE checks")


def list_page(url, n):
    from starlette.testclient import TestClient

    from host_tools.backend.store import Store
    from host_tools.report.accounting import zone
    from host_tools.web import queries
    from host_tools.web.app import Console

    store = Store(url)
    fill(store.db, n)
    store.close()
    tz = zone("Europe/Stockholm")
    console = Console(None, url, tz)  # creates the list's indexes
    console.users.add("bench", PASSWORD, "viewer")
    rng = random.Random(19)
    depths = [rng.randrange(n // 4, n - 100) for _ in range(30)]

    def cursor(depth):  # the row at position `depth` (1 = newest): the page after it
        i = n - depth + 1
        return "%d:bench-%07d" % (T0 + i * 60, i)

    urls = ["/sessions"] * 10 + ["/sessions?after=" + cursor(d) for d in depths]
    urls += ["/sessions?station=st-%d" % rng.randrange(200) for _ in range(10)]
    urls += ["/sessions?tag=TAG%d" % rng.randrange(5000) for _ in range(10)]
    mid = time.strftime("%Y-%m-%d", time.gmtime(T0 + n // 2 * 60))
    urls += ["/sessions?status=pending", "/sessions?status=mismatch", "/sessions?from=%s&to=%s" % (mid, mid)] * 3
    page_ms = []
    with TestClient(console.app()) as client:
        client.post("/login", data={"user": "bench", "password": PASSWORD})
        client.get("/sessions")  # warm: first connection, template compile
        for u in urls:
            t = time.perf_counter()
            r = client.get(u)
            page_ms.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200 or "/sessions/bench-" not in r.text:
                raise RuntimeError("list page %s failed: %d" % (u, r.status_code))
        keyset_ms, offset_ms = [], []
        for d in depths:
            t = time.perf_counter()
            a, _ = queries.list_sessions(console.store.db, {}, tz, after=queries.parse_cursor(cursor(d)))
            keyset_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            b, _ = queries.list_sessions(console.store.db, {}, tz, offset=d)
            offset_ms.append((time.perf_counter() - t) * 1000)
            if [r["sid"] for r in a] != [r["sid"] for r in b]:
                raise RuntimeError("keyset and OFFSET pages differ at depth %d" % d)
    return {"web_list_p95_ms_1m": p95(page_ms), "web_list_deep_keyset_p95_ms_1m": p95(keyset_ms),
            "web_list_deep_offset_p95_ms_1m": p95(offset_ms), "web_list_sessions": n}


def live_latency(work, rounds=20):
    import paho.mqtt.client as mqtt

    from host_tools.backend.service import Backend
    from host_tools.report.accounting import zone
    from host_tools.testing.broker import Broker, free_port
    from host_tools.web.app import Console
    from host_tools.web.rig import WebServer, chromium

    db = os.path.join(work, "live.db")
    with Broker("mosquitto") as b:
        backend = Backend(db, "127.0.0.1", b.port, on_receipt=lambda t: None).start()
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-dev")
        floor = {}
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-floor")
        sub.on_message = lambda c, u, m: floor.setdefault(json.loads(m.payload)["up"], time.time() * 1000)
        try:
            console = Console(backend, db, zone("Europe/Stockholm"))
            console.users.add("bench", PASSWORD, "viewer")
            for c in (pub, sub):
                c.connect("127.0.0.1", b.port)
                c.loop_start()
            sub.subscribe("laddvakt/v1/+/connector", qos=1)
            status = {"v": 1, "state": "online", "install": "0123456789ab", "fw": "bench", "boot": 1}
            pub.publish("laddvakt/v1/bench-1/status", json.dumps(status), qos=1, retain=True).wait_for_publish()
            with WebServer(console.app(), free_port()) as web, chromium() as browser:
                page = browser.new_page()
                page.goto(web.url + "/login")
                page.fill("#user", "bench")
                page.fill("#password", PASSWORD)
                page.click("#login")
                page.wait_for_selector("#dev-bench-1")
                page.wait_for_selector("#live:text('on')")
                got = []
                for i in range(1, rounds + 1):
                    msg = {"v": 1, "status": "Charging" if i % 2 else "SuspendedEV", "error_code": "NoError",
                           "pilot": "C", "offer_a": 16, "up": i}
                    t0 = time.time() * 1000
                    pub.publish("laddvakt/v1/bench-1/connector", json.dumps(msg), qos=1)
                    page.wait_for_function("(i) => window.lastEvent && window.lastEvent.connector"
                                           " && window.lastEvent.connector.up === i", arg=i, timeout=10000)
                    seen = page.evaluate("window.lastEventSeen")
                    got.append((seen - t0, floor.get(i, t0) - t0))
                    time.sleep(0.2)
        finally:
            for c in (pub, sub):
                c.loop_stop()
                c.disconnect()
            backend.stop()
    return {"web_live_latency_ms": p95([g[0] for g in got]), "web_live_mqtt_floor_ms": p95([g[1] for g in got])}


def measure():
    from host_tools.repo import BUILD
    from host_tools.testing.pg import PgServer

    work = os.path.join(BUILD, "bench_web")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    fig = live_latency(work)
    with PgServer() as pg:
        fig.update(list_page(pg.create_db("web"), N_SESSIONS))
    return fig


def check(fig):
    if fig["web_list_p95_ms_1m"] > GOAL_LIST_MS:
        yield "web_list_p95_ms_1m %.1f above the goal of %d" % (fig["web_list_p95_ms_1m"], GOAL_LIST_MS)
    if fig["web_live_latency_ms"] > GOAL_LIVE_MS:
        yield "web_live_latency_ms %.1f above the goal of %d" % (fig["web_live_latency_ms"], GOAL_LIVE_MS)
