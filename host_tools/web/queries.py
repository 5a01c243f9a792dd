"""The console's reads: the sessions list (filters in the site's time zone, keyset paging on an
index, so a deep page costs what the first does), one charger's live row, and the fleet's plans."""
import json
import time

from host_tools.report.accounting import day_bounds

PAGE = 50
_KEY = "COALESCE(s.start_t, 0)"
# Keyset paging walks these (newest first); PostgreSQL and SQLite both use an index on an
# expression when the query spells the same expression.
INDEXES = (
    "CREATE INDEX IF NOT EXISTS sessions_web_start ON sessions ((COALESCE(start_t, 0)), sid)",
    "CREATE INDEX IF NOT EXISTS sessions_web_dev ON sessions (dev, (COALESCE(start_t, 0)), sid)",
    "CREATE INDEX IF NOT EXISTS sessions_web_tag ON sessions (id_tag, (COALESCE(start_t, 0)), sid)",
    "CREATE INDEX IF NOT EXISTS checks_web_status ON checks (status)",
    # The vehicle of each session (the session_end's optional vehicle_id, which the sessions
    # table does not carry), for the vehicle filter.
    "CREATE TABLE IF NOT EXISTS web_vehicles (sid TEXT PRIMARY KEY, vehicle_id TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS web_vehicles_vehicle ON web_vehicles (vehicle_id)",
)
STATUSES = ("ok", "mismatch", "pending", "error", "unverifiable", "flagged")


def ensure_indexes(db):
    for stmt in INDEXES:
        db.execute(stmt)


def index_vehicles(db, records=None):
    """Note the vehicle of each session_end in records (dicts), or, with none given, of every
    stored session_end (at start-up: one pass over them, the live path adds the new ones)."""
    if records is None:
        records = [json.loads(r["body"]) for r in db.query(
            "SELECT body FROM records WHERE type = 'session_end' AND body LIKE ?", ('%"vehicle_id":"%',))]
    for r in records:
        if r.get("type") == "session_end" and r.get("vehicle_id"):
            db.execute("INSERT INTO web_vehicles (sid, vehicle_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                       (r["sid"], r["vehicle_id"]))


def parse_cursor(text):
    """"<start_t>:<sid>" of the last row shown, or None; ValueError for anything else."""
    if not text:
        return None
    t, sep, sid = text.partition(":")
    if not sep or not sid or not t.lstrip("-").isdigit():
        raise ValueError("bad page cursor %r" % text)
    return int(t), sid


def session_filter(f, tz):
    """(SQL after FROM, args) for the filters {from, to (local dates), station, tag, vehicle,
    status}."""
    joins, where, args = "", [], []
    if f.get("from"):
        where.append(_KEY + " >= ?")
        args.append(day_bounds(f["from"], tz)[0])
    if f.get("to"):
        where.append(_KEY + " < ?")
        args.append(day_bounds(f["to"], tz)[1])
    if f.get("station"):
        where.append("s.dev = ?")
        args.append(f["station"])
    if f.get("tag"):
        where.append("s.id_tag = ?")
        args.append(f["tag"])
    if f.get("vehicle"):
        where.append("s.sid IN (SELECT sid FROM web_vehicles WHERE vehicle_id = ?)")
        args.append(f["vehicle"])
    st = f.get("status")
    if st:
        if st not in STATUSES:
            raise ValueError("status must be one of %s" % ", ".join(STATUSES))
        joins = " JOIN checks c ON c.sid = s.sid"
        if st == "flagged":
            where.append("(c.status IN ('mismatch', 'error') OR c.signature IN ('invalid', 'tampered', 'missing'))")
        else:
            where.append("c.status = ?")
            args.append(st)
    return joins, where, args


def list_sessions(db, f, tz, after=None, offset=None, page=PAGE):
    """(rows, next cursor or None): a page of sessions, newest first. `after` (a cursor) is the
    keyset page; `offset` is the OFFSET page the bench compares it with."""
    joins, where, args = session_filter(f, tz)
    if after is not None:
        where.append("(%s, s.sid) < (?, ?)" % _KEY)
        args += list(after)
    sql = ("SELECT s.sid, s.dev, s.start_t, s.end_t, s.energy_wh, s.cost_minor, s.currency, s.minor_unit,"
           " s.id_tag, s.stop_reason FROM sessions s%s%s ORDER BY %s DESC, s.sid DESC LIMIT %d"
           % (joins, (" WHERE " + " AND ".join(where)) if where else "", _KEY, page + 1))
    if offset:
        sql += " OFFSET %d" % int(offset)
    rows = db.query(sql, args)
    more = len(rows) > page
    rows = rows[:page]
    if rows:
        status = {r["sid"]: r for r in db.query(
            "SELECT sid, status, signature FROM checks WHERE sid IN (%s)" % ", ".join("?" * len(rows)),
            [r["sid"] for r in rows])}
        for r in rows:
            c = status.get(r["sid"]) or {}
            r["check"] = c.get("status", "pending")
            r["signature"] = c.get("signature", "pending")
    nxt = "%d:%s" % (rows[-1]["start_t"] or 0, rows[-1]["sid"]) if more else None
    return rows, nxt


def _last(db, install, types):
    rows = db.query("SELECT body FROM records WHERE install = ? AND type IN (%s) ORDER BY seq DESC LIMIT 1"
                    % ", ".join("?" * len(types)), [install] + list(types))
    return json.loads(rows[0]["body"]) if rows else None


def charger_rows(db, backend, now=None):
    """One row per device the backend has a status from: the live view's initial state."""
    now = now or time.time()
    out = []
    for dev in sorted(set(backend.status) | set(backend.connector)):
        st = backend.status.get(dev) or {}
        conn = backend.connector.get(dev) or {}
        install = st.get("install")
        row = {"dev": dev, "state": st.get("state", "unknown"), "fw": st.get("fw", ""),
               "last_seen": backend.last_seen.get(dev), "connector": conn.get("status", ""),
               "error_code": conn.get("error_code", ""), "pilot": conn.get("pilot", ""),
               "offer_a": conn.get("offer_a"), "session": None, "power_w": None, "energy_wh": None,
               "faults": [], "backlog": None, "gap": None, "install": install}
        if install:
            sess = _last(db, install, ("session_start", "session_end"))
            if sess and sess["type"] == "session_start":
                row["session"] = sess["sid"]
            meter = _last(db, install, ("meter",))
            if meter:
                row["power_w"], row["energy_wh"] = meter["power_w"], meter["energy_wh"]
            faults = {}
            for f in db.query("SELECT code, active FROM faults WHERE install = ? ORDER BY seq", (install,)):
                faults[f["code"]] = f["active"]
            row["faults"] = sorted(c for c, a in faults.items() if a)
            last = db.query("SELECT MAX(seq) AS m FROM records WHERE install = ?", (install,))[0]["m"] or 0
            ack = db.query("SELECT seq, gap_seq FROM acks WHERE install = ?", (install,))
            row["backlog"] = last - (ack[0]["seq"] if ack else 0)
            row["gap"] = ack[0]["gap_seq"] if ack and ack[0]["gap_seq"] and ack[0]["gap_seq"] <= last else None
        out.append(row)
    return out


def fleet(db):
    """Each vehicle's latest plan (need, departure, feasibility, charging windows) and the
    latest price schedule the devices stored, for the fleet page."""
    plans = {}
    for r in db.query("SELECT install, body FROM records WHERE type = 'plan' ORDER BY install, seq"):
        p = json.loads(r["body"])
        plans[p["vehicle_id"]] = dict(p, install=r["install"])
    prices = None
    rows = db.query("SELECT body FROM records WHERE type = 'price_schedule' ORDER BY t DESC, seq DESC LIMIT 1")
    if rows:
        prices = json.loads(rows[0]["body"])
    return [plans[k] for k in sorted(plans)], prices
