# Builders for the journal area's own records (types 20-29): gap report and time sync
# (a tariff change is billing's tariff_change record, pricing.py).
# Fields: docs/records.md and docs/schemas/record.json.
from laddvakt.journal.records import _base


def gap(clock, up_ms, ident, first, last, why):
    # Seqs first..last that a backend may never see: "corrupt" (unreadable on flash)
    # or "thinned" (periodic meter values dropped to make room).
    d = _base("gap", clock, up_ms, ident.boot)
    d["first"] = first
    d["last"] = last
    d["why"] = why
    return d


def time_sync(clock, up_ms, ident):
    # The clock synced at uptime `up` of boot `boot`, to wall time `t`: a backend gives
    # every unsynced record of this boot t + (its up - up) / 1000.
    return _base("time_sync", clock, up_ms, ident.boot)
