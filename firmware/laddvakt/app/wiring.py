# The agent's wiring: builds the agent once from the HAL, board and config, and the uplink beside
# it, then runs sampling, the uplink and (when the HAL offers a stream) the serial console as
# asyncio tasks. main.py and unix_main.py call main(hal).
import asyncio
import gc
import json

from laddvakt import VERSION
import laddvakt.core.board
from laddvakt.core import config
from laddvakt.core.ident import load_and_count_boot
from laddvakt.journal.store import Journal
from laddvakt.app.agent import Agent
from laddvakt.uplink.wire import wbuf_bytes
from micropython import const

_TIGHT = const(131072)  # free heap (bytes) at the start of the run below which it is tight
_GC_EVERY = const(2048)  # bytes allocated between collections in a tight heap


def build(hal, at=None, bufs=None):
    """The agent; at[0] names the file being loaded, for safe mode's status if one is bad.
    bufs, a list, gets the link's write and receive buffers (make_uplink takes them)."""
    at = at or [""]
    at[0] = hal.data_dir + "/config.json"
    cfg = config.load(hal.data_dir + "/config.json")
    if bufs is not None:
        # The link's buffers, the largest objects the agent holds for good, are made before
        # anything else is: together at the start of the heap, not splitting what is left
        # (docs/architecture.md, Memory). The config's text and parse collected first.
        gc.collect()
        # Write: a batch or reply built in place under the longest such topic, <root>reply.
        reply = config.root(cfg) + "reply"
        bufs += (bytearray(wbuf_bytes(cfg["batch_max_bytes"], len(reply.encode()))),
                 bytearray(cfg["cmd_max_bytes"] + 320))
    at[0] = "%s/%s.json" % (hal.boards_dir, cfg["board"])
    board = laddvakt.core.board.load(hal.boards_dir, cfg["board"])
    at[0] = hal.data_dir + "/ident.json"
    ident = load_and_count_boot(hal.data_dir + "/ident.json", hal.urandom)
    at[0] = hal.data_dir + "/journal"
    gc.collect()  # the board and ident files' garbage: the journal's frame buffers go next to the link's
    journal = Journal(hal.data_dir + "/journal", cfg["journal_segment_bytes"], cfg["journal_max_bytes"]).open()
    at[0] = "board %s: station (meter, pilot)" % cfg["board"]
    # The HAL builds the platform's hardware: the board's meter and CP front end, or (unix-sim)
    # the simulated station, which is then the plant the loop steps.
    meter, pilot, tsrc, plant, profile = hal.station(board, cfg)
    # The agent keeps what its boot record and the console name of the board; the pins and
    # texts served only to build the station, and are not held for the run.
    board = {"name": board["name"], "meter": {"type": board["meter"]["type"]},
             "pilot": {"type": board["pilot"]["type"]}}
    at[0] = hal.data_dir + "/tariff.json, prices.json, journal/session (or config)"
    return Agent(hal, cfg, board, ident, journal, meter=meter, pilot=pilot, time_source=tsrc,
                 ticker=hal.ticker(cfg["control_tick_ms"]), plant=plant, meter_profile=profile)


def make_uplink(agent, bufs):
    from laddvakt.uplink.mqtt import MQTTLink
    from laddvakt.uplink.uplink import Uplink

    cfg = agent.cfg
    tls = None
    if cfg["mqtt_tls"]:  # the TLS module loads only where TLS is configured
        from laddvakt.uplink.tls import context

        tls = context(cfg)
    link = MQTTLink(
        "laddvakt-" + agent.ident.install, cfg["mqtt_host"], cfg["mqtt_port"],
        cfg["mqtt_timeout_ms"], bufs[0], bufs[1],
        tls=tls, tls_host=cfg["mqtt_tls_host"] or None,
        user=cfg["mqtt_user"] or None, password=cfg["mqtt_password"] or None,
        keepalive=cfg["mqtt_keepalive_s"], dns=agent.hal.dns(cfg) if hasattr(agent.hal, "dns") else None,
    )
    pr = agent.pricing

    def status(a):
        from laddvakt.control.commands import agent_status  # loaded with the command code

        return agent_status(agent)

    handlers = {"ping": lambda a: {"pong": True}, "status": status,
                "tariff_set": pr.cmd_tariff_set, "prices_set": pr.cmd_prices_set, "tariff_get": pr.cmd_tariff_get}
    done = []

    def commands():
        """The command handler over the whole table: the control commands and the parsing and
        checking code load here, at the first command (or with Home Assistant's controls)."""
        if not done:
            from laddvakt.control.commands import control_commands

            handlers.update(control_commands(agent.control, agent.uptime_ms, agent.wall_s, agent.faults.codes))
            from laddvakt.uplink.commands import CommandHandler

            done.append(CommandHandler(handlers, cfg["cmd_max_bytes"]))
        return done[0]

    rnd = agent.hal.urandom

    def rand(n):
        return int.from_bytes(rnd(2), "little") % n

    extra = None
    if cfg["ha_discovery"]:
        from laddvakt.app.ha_link import make  # loaded only when configured

        extra = make(agent, cfg, handlers, commands)
    up = Uplink(link, agent.journal, cfg, agent.ident, VERSION, (handlers, commands), rand, extra, agent.codec)
    up.retained.append(("connector", agent.control.status_json))
    up.acks.set_fault = agent.set_fault  # the ack_timeout fault record (issue 16)
    return up


async def _run(agent, uplink, console=None):
    agent.start()
    if gc.mem_free() < _TIGHT:
        # A tight heap (a board without PSRAM): a collection every _GC_EVERY bytes allocated,
        # so what the run allocates between them reuses the lowest holes, and the free space
        # above stays whole for a session end's larger blocks (docs/architecture.md, Memory).
        gc.threshold(_GC_EVERY)
    agent.watchdog.start(agent.hal.wdt, agent.hal.reset_cause())
    up_task = asyncio.create_task(uplink.run())
    # SNTP (and its DNS lookup) runs beside the uplink, never in sampling (docs/architecture.md).
    sntp = getattr(agent.time_source, "run", None)
    if sntp:
        asyncio.create_task(sntp(agent.uptime_ms, lambda: uplink.connects))
    if console:
        from laddvakt.app.console_view import make_console

        asyncio.create_task(make_console(agent.hal, agent, console[0], console[1]).run())
    limit = agent.hal.run_limit()  # None on a board: run for ever
    if limit is None:
        await agent.sample_loop()
        return
    end_ms, drain_ms = limit
    await agent.sample_loop(end_ms)
    # Simulation over: let the uplink drain the journal, then go offline cleanly.
    for _ in range(drain_ms // 20):
        if uplink.drained():
            break
        await asyncio.sleep_ms(20)
    up_task.cancel()
    uplink.shutdown()
    agent.watchdog.note_heap()


def main(hal):
    """Run the agent on `hal` (main.py passes the board's, unix_main.py the unix port's)."""
    at = [""]
    bufs = []
    try:
        agent = build(hal, at, bufs)
    except Exception as e:
        bufs.clear()  # safe mode's link has small buffers of its own
        from laddvakt.app.safe_link import safe_mode

        return safe_mode(hal, e, at[0])
    # A quiet point: build's garbage (board and ident text, parsed JSON) collected before the
    # network comes up and the uplink is made.
    gc.collect()
    hal.net_up(agent.cfg)
    # Building left garbage between the modules it loaded: collect before the uplink reads
    # its TLS files and makes its parts, so they find room in a tight heap.
    gc.collect()
    try:
        uplink = make_uplink(agent, bufs)
    except Exception as e:
        # A TLS file named in config is missing, unreadable or not a certificate/key; or
        # no room for the uplink's parts (a MemoryError, with or without TLS).
        agent.metering.close()
        agent.journal.close()
        bufs.clear()
        from laddvakt.app.safe_link import safe_mode

        tls = agent.cfg["mqtt_tls"] and not isinstance(e, MemoryError)
        return safe_mode(hal, e, "tls files (mqtt_ca_file, mqtt_cert, mqtt_key)" if tls else "uplink")
    agent.uplink = uplink
    asyncio.run(_run(agent, uplink, hal.console()))
    summary = {
        "sessions": agent.sessions,
        "journal_seq": agent.journal.seq,
        "delivered_seq": agent.journal.delivered,
        "heap_peak_bytes": agent.watchdog.heap_peak,
        "meter_errors": agent.metering.health.failed_polls,
        "uplink_failures": uplink.failures,
        "uplink": uplink.stats(),
        "drain_ms": uplink.drain_ms,
    }
    if hasattr(agent.ticker, "p99_ms"):
        summary["jitter_p99_ms"] = agent.ticker.p99_ms()
        summary["jitter_samples"] = agent.ticker.n
    agent.metering.close()
    agent.journal.close()
    print("laddvakt-summary " + json.dumps(summary))
    return 0 if not agent.journal.pending() else 1
