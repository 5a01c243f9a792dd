# Builders for the journal area's own records (types 20-29): tariff change, gap report
# and time sync. Fields: docs/records.md and docs/schemas/record.json.
import json

from .records import _base


def tariff_record(clock, up_ms, ident, version, tariff):
    d = _base("tariff", clock, up_ms, ident.boot)
    d["version"] = version
    d["currency"] = tariff.currency
    d["minor_unit"] = tariff.minor_unit
    d["price_minor_per_kwh"] = tariff.price_minor_per_kwh
    return json.dumps(d)


def gap(clock, up_ms, ident, first, last, why):
    # Seqs first..last that a backend may never see: "corrupt" (unreadable on flash)
    # or "thinned" (periodic meter values dropped to make room).
    d = _base("gap", clock, up_ms, ident.boot)
    d["first"] = first
    d["last"] = last
    d["why"] = why
    return json.dumps(d)


def time_sync(clock, up_ms, ident):
    # The clock synced at uptime `up` of boot `boot`, to wall time `t`: a backend gives
    # every unsynced record of this boot t + (its up - up) / 1000.
    return json.dumps(_base("time_sync", clock, up_ms, ident.boot))
