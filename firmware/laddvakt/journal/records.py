# Builders for journal records, as dicts: Agent.log encodes them (codec.py), a reader
# renders them back to JSON. The field names are the MQTT contract: docs/mqtt.md,
# docs/records.md and docs/schemas/record.json.
from laddvakt.billing.session_cost import sized


def base(rtype, clock, up_ms, boot):
    """The fields every record starts with: type, wall time and its quality, boot, uptime.
    Other areas' builders (billing's tariff_change) start from it too."""
    return {"type": rtype, "t": clock.wall_s(up_ms), "tq": clock.quality(), "boot": boot,
            "up": clock.up(up_ms)}  # up_ms is the loop's (wrapping) time, "up" never wraps


def boot(clock, up_ms, ident, fw, board):
    d = base("boot", clock, up_ms, ident.boot)
    d["fw"] = fw
    d["board"] = board
    return d


def session_start(clock, ident, s, tariff, extra=None):
    d = base("session_start", clock, s.start_up, ident.boot)
    d["sid"] = s.sid
    d["meter_start_wh"] = s.meter_start_wh
    d["id_tag"] = s.id_tag
    d["vehicle_id"] = s.vehicle_id
    d["currency"] = tariff.currency
    d["price_minor_per_kwh"] = tariff.price_minor_per_kwh
    if extra:
        d.update(extra)  # billing fields (pricing.py)
    return d


def meter(clock, up_ms, ident, sid, energy_wh, power_w, ctx="Sample.Periodic", extra=None):
    d = base("meter", clock, up_ms, ident.boot)
    d["sid"] = sid
    d["energy_wh"] = energy_wh
    d["power_w"] = power_w
    d["ctx"] = ctx
    if extra:
        d.update(extra)  # billing fields: charge state, running cost (pricing.py)
    return d


def session_end(clock, ident, s, tariff, cost_minor, energy_flags=None, extra=None):
    # Made at its size, 25 keys with the billing fields, ocmf and sig (Pricing.seal): grown key
    # by key, its table went through 23 slots to 29 at once (docs/bench.md, heap).
    d = sized(25)
    d.update(base("session_end", clock, s.end_up, ident.boot))
    # A session that began before the clock synced gets its start time now, from
    # uptime, if the clock has synced since; the quality says which it is.
    start_t = s.start_t
    start_tq = s.start_tq
    if start_t is None and clock.synced:
        start_t = clock.wall_s(s.start_up)
        start_tq = clock.quality()
    d["sid"] = s.sid
    d["start_t"] = start_t
    d["start_tq"] = start_tq
    d["end_t"] = s.end_t
    d["meter_start_wh"] = s.meter_start_wh
    d["meter_stop_wh"] = s.meter_stop_wh
    d["energy_wh"] = s.energy_wh
    d["duration_s"] = s.duration_s()
    d["stop_reason"] = s.stop_reason
    d["id_tag"] = s.id_tag
    d["vehicle_id"] = s.vehicle_id
    d["currency"] = tariff.currency
    d["minor_unit"] = tariff.minor_unit
    d["price_minor_per_kwh"] = tariff.price_minor_per_kwh
    d["cost_minor"] = cost_minor
    if energy_flags:
        # Why energy_wh cannot be taken at face value (docs/meters.md).
        d["energy_flags"] = energy_flags
    if extra:
        d.update(extra)  # receipt, tariffs used, signature (pricing.py)
    return d


def fault(clock, up_ms, ident, code, active, info, sid):
    # One record per edge: raised (active true) or cleared (active false).
    d = base("fault", clock, up_ms, ident.boot)
    d["code"] = code
    d["active"] = active
    d["info"] = info
    d["sid"] = sid
    return d


def meter_event(clock, up_ms, ident, event, reason, value_dwh, sid):
    # A reading the integrity rules refused, a re-taken baseline, or a replaced meter.
    d = base("meter_event", clock, up_ms, ident.boot)
    d["event"] = event
    d["reason"] = reason
    d["value_dwh"] = value_dwh
    d["sid"] = sid
    return d


def plan(clock, up_ms, ident, sid, vehicle, need_wh, by_t, p):
    # Charging control (issue 7): a fleet plan made for a session, above all when the vehicle's
    # target cannot be met by its deadline.
    d = base("plan", clock, up_ms, ident.boot)
    d["sid"] = sid
    d["vehicle_id"] = vehicle
    d["need_wh"] = need_wh
    d["by_t"] = by_t
    d["feasible"] = p.feasible
    d["shortfall_wh"] = p.shortfall_wh
    d["cost_minor"] = p.cost_minor
    d["windows"] = [[a, b] for a, b in p.windows[:16]]  # bounded: a frame holds 2 KB
    return d


# ---- the journal area's own records (types 20-29) ----------------------------------------
def gap(clock, up_ms, ident, first, last, why):
    # Seqs first..last that a backend may never see: "corrupt" (unreadable on flash)
    # or "thinned" (periodic meter values dropped to make room).
    d = base("gap", clock, up_ms, ident.boot)
    d["first"] = first
    d["last"] = last
    d["why"] = why
    return d


def time_sync(clock, up_ms, ident):
    # The clock synced at uptime `up` of boot `boot`, to wall time `t`: a backend gives
    # every unsynced record of this boot t + (its up - up) / 1000.
    return base("time_sync", clock, up_ms, ident.boot)
