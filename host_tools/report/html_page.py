"""The HTML report: one self-contained file (charts are PNGs from matplotlib, embedded as
data: URIs), for a month of a fleet or any other span of a backend database."""
import base64
import html
import io
from collections import Counter, defaultdict
from datetime import datetime, timezone

import matplotlib

matplotlib.use("Agg")  # no display: render to PNG only
import matplotlib.pyplot as plt  # noqa: E402

from host_tools.backend.receipt import format_kwh, format_minor, format_utc  # noqa: E402
from host_tools.report.accounting import is_flagged, verification_line  # noqa: E402
from host_tools.report.tables import (GROUP_HEADER, HEADER, day_of, group_rows, grouped,  # noqa: E402
                                      invoices, load_receipts, rows)

_CSS = """body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:2px 8px;font-size:90%}td.n{text-align:right}
img.chart{max-width:100%;border:1px solid #eee;margin:.5em 0}.flag{color:#b00}
section.invoice{border:1px solid #999;padding:1em;margin:1em 0}"""
# Marks the page once every chart has decoded, so a headless browser test can check it.
_SCRIPT = """window.addEventListener('load',function(){var imgs=document.querySelectorAll('img.chart');
var ok=0;imgs.forEach(function(i){if(i.complete&&i.naturalWidth>0)ok++;});
document.body.setAttribute('data-charts-loaded',ok);});"""


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _img(fig, alt):
    return '<img class="chart" alt="%s" src="data:image/png;base64,%s">' % (html.escape(alt), _png(fig))


def _money(minor, unit):
    return int(minor) / 10 ** unit  # for plotting only; tables print exact integers


def chart_energy_cost_per_day(days):
    fig, ax = plt.subplots(figsize=(9, 3.2))
    x = list(range(len(days)))
    ax.bar(x, [g["energy_wh"] / 1000 for g in days], color="#4a90d9", label="energy (kWh)")
    ax.set_ylabel("kWh")
    ax.set_xticks(x[::max(1, len(x) // 15)], [g["key"][5:] for g in days][::max(1, len(x) // 15)])
    ax2 = ax.twinx()
    ax2.plot(x, [_money(g["cost_minor"], g["minor_unit"]) for g in days], color="#d9534f", marker=".",
             label="cost")
    ax2.set_ylabel("cost (%s)" % (days[0]["currency"] if days else ""))
    ax.set_title("Energy and cost per day")
    return fig


def chart_cost_per_vehicle(tags):
    fig, ax = plt.subplots(figsize=(9, 3.2))
    ax.bar([g["key"] for g in tags], [_money(g["cost_minor"], g["minor_unit"]) for g in tags], color="#5cb85c")
    ax.set_ylabel("cost (%s)" % (tags[0]["currency"] if tags else ""))
    ax.set_title("Cost per vehicle (ID tag)")
    return fig


def chart_hours(starts, peak_kw, zone_name="UTC"):
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.2))
    hours = list(range(24))
    a.bar(hours, [starts.get(h, 0) for h in hours], color="#f0ad4e")
    a.set_title("Session starts by hour of day (%s)" % zone_name)
    a.set_xticks(hours[::3])
    b.bar(hours, [peak_kw.get(h, 0) for h in hours], color="#9b59b6")
    b.set_title("Peak demand by hour of day (kW, all stations)")
    b.set_xticks(hours[::3])
    return fig


def chart_station_use(stations, span_s):
    fig, ax = plt.subplots(figsize=(9, 3.2))
    names = [g["key"] for g in stations]
    ax.bar(names, [100.0 * g["seconds"] / span_s if span_s else 0 for g in stations], color="#1abc9c")
    ax.set_ylabel("occupied (% of the period)")
    for i, g in enumerate(stations):
        ax.annotate("%d sessions" % g["sessions"], (i, 0), ha="center", va="bottom")
    ax.set_title("Station use")
    return fig


def peak_demand_by_hour(store, tz=None):
    """{hour of day: kW}: the highest total fleet power seen in that hour of any day, from the
    power of each station's readings (the maximum of each station per hour, summed)."""
    per = defaultdict(int)
    for r in store.query("SELECT install, t, power_w FROM readings WHERE type = 'meter'"
                         " AND t IS NOT NULL AND power_w IS NOT NULL"):
        k = (r["install"], r["t"] // 3600)
        per[k] = max(per[k], r["power_w"])
    fleet = defaultdict(int)
    for (_, hour), w in per.items():
        fleet[hour] += w
    out = {}
    for hour, w in fleet.items():
        h = datetime.fromtimestamp(hour * 3600, timezone.utc).astimezone(tz or timezone.utc).hour
        out[h] = max(out.get(h, 0), w / 1000)
    return out


def _table(header, body, numeric=()):
    h = "".join("<th>%s</th>" % html.escape(c) for c in header)
    trs = []
    for r in body:
        trs.append("<tr>%s</tr>" % "".join(
            '<td%s>%s</td>' % (' class="n"' if i in numeric else "", html.escape(str(c))) for i, c in enumerate(r)))
    return "<table><tr>%s</tr>%s</table>" % (h, "".join(trs))


def _invoice_html(inv):
    body = [(format_utc(s["start_t"]), s["dev"] + (" (flagged)" if s["sid"] in inv["flagged"] else ""),
             s["id_tag"], format_kwh(s["energy_wh"]),
             format_minor(s["cost_minor"], s["minor_unit"]), s["currency"]) for s in inv["lines"]]
    tot = "".join("<p><b>Total %s kWh: %s %s</b>, of which VAT %s %s</p>" % (
        format_kwh(t["energy_wh"]), format_minor(t["cost_minor"], unit), cur, format_minor(t["vat_minor"], unit), cur)
        for (cur, unit), t in sorted(inv["totals"].items()))
    if inv["flagged"]:
        tot += "<p class='flag'>Flagged (a cost or signature check failed; included, marked): %s</p>" % (
            html.escape(", ".join(sorted(inv["flagged"]))))
    return ('<section class="invoice"><h3>Invoice: %s, %s</h3><p>ID tags: %s</p>%s%s</section>' % (
        html.escape(inv["customer"]), inv["month"], html.escape(", ".join(inv["tags"])),
        _table(("start (UTC)", "station", "ID tag", "kWh", "cost", "currency"), body, (3, 4)), tot))


def build(store, customers=None, month=None, tz=None):
    """The report; tz (a ZoneInfo, None: UTC) sets the days, months, hours and invoicing month."""
    sessions = store.sessions()
    synced = [s for s in sessions if s["start_t"] is not None]
    # Charts show the currency most sessions use; tables keep every currency apart.
    cur = Counter(s["currency"] for s in sessions).most_common(1)
    main = [s for s in synced if cur and s["currency"] == cur[0][0]]
    span_s = (max(s["end_t"] for s in synced) - min(s["start_t"] for s in synced)) if synced else 0
    by = {g: grouped(main, g, tz) for g in ("day", "tag", "station")}
    zone = tz or timezone.utc
    starts = Counter(datetime.fromtimestamp(s["start_t"], timezone.utc).astimezone(zone).hour for s in synced)
    charts = [
        ("Energy and cost per day", chart_energy_cost_per_day(by["day"])),
        ("Cost per vehicle", chart_cost_per_vehicle(by["tag"])),
        ("Session starts and peak demand by hour", chart_hours(starts, peak_demand_by_hour(store, tz), getattr(tz, "key", "UTC"))),
        ("Station use", chart_station_use(by["station"], span_s)),
    ]
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>laddvakt report</title>",
             "<style>%s</style><script>%s</script></head><body>" % (_CSS, _SCRIPT),
             "<h1>laddvakt charging report</h1>",
             "<p>%d sessions, %s kWh, from %s to %s (days and months in %s).</p>" % (
                 len(sessions), format_kwh(sum(s["energy_wh"] for s in sessions)),
                 format_utc(min((s["start_t"] for s in synced), default=None)),
                 format_utc(max((s["end_t"] for s in synced), default=None)), getattr(tz, "key", "UTC"))]
    parts.append("<h2>Charts</h2>")
    for alt, fig in charts:
        parts.append(_img(fig, alt))
    for g, title in (("station", "Per station"), ("tag", "Per ID tag / vehicle"),
                     ("month", "Per month"), ("day", "Per day")):
        parts.append("<h2>%s</h2>" % title)
        parts.append(_table((g,) + GROUP_HEADER, group_rows(grouped(sessions, g, tz)), (1, 2, 3, 5)))
    all_checks = store.query("SELECT * FROM checks ORDER BY end_seq")
    parts.append("<h2>Verification</h2><p>%s</p>" % html.escape(verification_line(all_checks)))
    flagged = [c for c in all_checks if is_flagged(c) or c["status"] == "pending"]
    if flagged:
        parts.append('<div class="flag">%s</div>' % _table(
            ("session", "cost check", "device", "backend", "signature", "detail"),
            [(c["sid"], c["status"], c["device_minor"], c["backend_minor"], c["signature"], c["detail"] or "")
             for c in flagged]))
    if customers and month:
        parts.append("<h2>Invoices %s</h2>" % html.escape(month))
        marked = {c["sid"] for c in all_checks if is_flagged(c)}
        for inv in invoices(sessions, load_receipts(store), customers, month, marked, tz):
            parts.append(_invoice_html(inv))
    parts.append("<h2>Sessions</h2>")
    parts.append(_table(HEADER, rows(sessions), (4, 5)))
    parts.append("</body></html>")
    return "\n".join(parts)


__all__ = ["build", "day_of"]
