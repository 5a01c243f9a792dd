"""Bench area `billing`: the device's cost update per meter sample (under micropython) and the
backend's ingest rate over a real mosquitto, with one worker and with three on a shared
subscription (SQLite), plus one worker on PostgreSQL where the server is installed."""
import json
import os
import shutil
import subprocess
import time

from host_tools.repo import BUILD, FIRMWARE
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

GOAL_RECORDS_PER_S = 1000
SAMPLES = 20000

_MP_SCRIPT = """
import gc
import time
from laddvakt.billing.session_cost import SessionCost
from laddvakt.billing.spot import PriceSchedule
from laddvakt.billing.tariff import Tariff
T0 = 1795154400
t = Tariff.from_dict({"id": "b", "version": 1, "currency": "SEK", "minor_unit": 2, "energy": 2500000,
    "tz_min": 60, "dst": "eu", "dynamic": True, "time_fee": 5000, "idle_fee": 50000, "idle_grace_s": 600,
    "tou": [{"days": [0, 1, 2, 3, 4], "from": 360, "to": 1320, "price": 3500000}], "vat_bp": 2500})
s = PriceSchedule.from_dict({"id": "s", "start": T0 - T0 % 900, "step_s": 900, "prices": list(range(100000, 292000, 1000))})
c = SessionCost(t, s, T0, 0, 0, 1)
n = SAMPLES
wh = 0
up = 0
tt = T0
t0 = time.ticks_us()
for i in range(n):
    up += 10000
    tt += 10
    wh += 20
    c.on_sample(tt, up, wh, 1 if (i // 500) % 2 == 0 else 2)
dt = time.ticks_diff(time.ticks_us(), t0)
gc.collect()
a0 = gc.mem_alloc()
for i in range(1000):
    up += 10000
    tt += 10
    wh += 20
    c.on_sample(tt, up, wh, 1)
alloc = (gc.mem_alloc() - a0) / 1000
t0 = time.ticks_us()
for i in range(n):
    up += 10000
    tt += 10
    wh += 20
dl = time.ticks_diff(time.ticks_us(), t0)
print((dt - dl) / n, alloc)
""".replace("SAMPLES", str(SAMPLES))


def cost_us_per_sample():
    p = subprocess.run([MICROPYTHON, "-c", _MP_SCRIPT], env=micropython_env(FIRMWARE),
                       capture_output=True, text=True, timeout=120)
    if p.returncode:
        raise RuntimeError("micropython cost bench failed:\n" + p.stdout + p.stderr)
    us, alloc = p.stdout.split()[-2:]
    return round(float(us), 2), round(float(alloc), 1)


def _fleet(devices=10, batches=50, per=20):
    out = []
    for d in range(devices):
        install = "%012x" % (0xBE0000 + d)
        seq = 0
        for _ in range(batches):
            recs = []
            for _ in range(per):
                seq += 1
                recs.append({"seq": seq, "type": "meter", "t": 1795154400 + seq, "tq": "synced", "boot": 1,
                             "up": seq * 1000, "sid": None, "energy_wh": seq, "power_w": 7360,
                             "ctx": "Sample.Periodic"})
            out.append(("laddvakt/v1/ev-%d/recs" % d,
                        json.dumps({"v": 1, "dev": "ev-%d" % d, "install": install, "recs": recs})))
    return out


def ingest_rate(db, workers, port):
    """Records per second from the first publish until every record is stored."""
    import paho.mqtt.client as mqtt

    from host_tools.backend.service import Backend, wait_for

    ws = [Backend(db, "127.0.0.1", port, client_id="bench-%d" % i, on_receipt=lambda t: None,
                  share="bench" if workers > 1 else None) for i in range(workers)]
    for w in ws:
        w.start()
    try:
        msgs = _fleet()
        want = sum(len(json.loads(p)["recs"]) for _, p in msgs)
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-pub")
        pub.max_inflight_messages_set(100)
        pub.max_queued_messages_set(0)
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        t0 = time.monotonic()
        infos = [pub.publish(topic, payload, qos=1) for topic, payload in msgs]
        for i in infos:
            i.wait_for_publish(60)
        if not wait_for(lambda: ws[0].store.count_records() >= want, 120):
            raise RuntimeError("only %d of %d records stored" % (ws[0].store.count_records(), want))
        dt = time.monotonic() - t0
        pub.loop_stop()
        pub.disconnect()
    finally:
        for w in ws:
            w.stop()
    return round(want / dt)


def measure():
    from host_tools.testing.broker import Broker

    us, alloc = cost_us_per_sample()
    fig = {"tariff_cost_us_per_sample": us, "tariff_cost_alloc_bytes_per_sample": alloc}
    work = os.path.join(BUILD, "bench_billing")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    with Broker("mosquitto") as b:
        fig["backend_ingest_records_per_s"] = ingest_rate(os.path.join(work, "one.db"), 1, b.port)
    with Broker("mosquitto") as b:
        fig["backend_ingest_records_per_s_3workers"] = ingest_rate(os.path.join(work, "three.db"), 3, b.port)
    from host_tools.testing.pg import PgServer, find_bin

    if find_bin():
        with PgServer() as pg:
            with Broker("mosquitto") as b:
                fig["backend_ingest_records_per_s_postgresql"] = ingest_rate(pg.create_db("one"), 1, b.port)
            with Broker("mosquitto") as b:
                fig["backend_ingest_records_per_s_postgresql_3workers"] = ingest_rate(
                    pg.create_db("three"), 3, b.port)
    return fig


def check(fig):
    for key in ("backend_ingest_records_per_s", "backend_ingest_records_per_s_3workers"):
        if fig[key] < GOAL_RECORDS_PER_S:
            yield "%s %d below the goal of %d" % (key, fig[key], GOAL_RECORDS_PER_S)
