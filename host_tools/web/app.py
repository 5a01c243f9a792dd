"""The console's routes (docs/web.md). Plain `def` endpoints run in Starlette's thread pool
(the database calls block); the live stream is async. Every state-changing request is a POST
with the log-in session's CSRF token, and every action is written to the audit log."""
import asyncio
import contextlib
import io
import json
from datetime import date, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from host_tools.backend.receipt import format_kwh, format_minor, format_utc, receipt_lines
from host_tools.backend.store import Store
from host_tools.report import invoice_pdf
from host_tools.report.accounting import (cost_breakdown, fmt_local, invoices, month_bounds, peak_demand,
                                          per_day, session_rows, verification_line, write_export_csv)
from host_tools.report.tables import grouped
from host_tools.web import queries, vendor
from host_tools.web.auth import ROLES, Users, allowed
from host_tools.web.live import Hub

COOKIE = "lv_session"
ACTIONS = {  # form action -> (command, role, arguments from the form)
    "remote_start": ("remote_start", "operator", lambda f: {"id_tag": f["id_tag"]}),
    "remote_stop": ("remote_stop", "operator", lambda f: {}),
    "limit": ("limit", "operator", lambda f: {"current_a": int(f["current_a"]), "duration_s": int(f["duration_s"])}),
    "limit_clear": ("limit", "operator", lambda f: {"clear": True}),
    "availability": ("availability", "operator", lambda f: {"available": f["available"] == "true"}),
    "tariff_set": ("tariff_set", "admin", lambda f: {"tariff": json.loads(f["tariff"])}),
    "prices_set": ("prices_set", "admin", lambda f: {"schedule": json.loads(f["schedule"])}),
}


class Console:
    def __init__(self, backend, db_url, tz, customers=None, seller=None, command_timeout=10.0):
        self.backend, self.tz = backend, tz
        self.store = Store(db_url)  # its own connection: page reads never wait on ingest
        queries.ensure_indexes(self.store.db)
        queries.index_vehicles(self.store.db)
        self.users = Users(self.store.db)
        self.customers = customers
        self.seller = seller
        self.command_timeout = command_timeout
        self.hub = Hub()
        if backend is not None:
            self.hub.attach(backend)
            backend.listeners.append(self._on_event)
        self.templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
        env = self.templates.env
        env.filters.update(kwh=format_kwh, utc=format_utc, local=lambda t: fmt_local(t, tz) if t else "",
                           money=lambda m, u: "" if m is None else format_minor(m, u))

    def _on_event(self, dev, kind, payload):
        if kind == "recs":
            queries.index_vehicles(self.store.db, payload)

    # ---- helpers ---------------------------------------------------------------------------
    def page(self, request, name, sess, **ctx):
        return self.templates.TemplateResponse(request, name, dict(ctx, me=sess, tz=self.tz.key))

    def need(self, request, role="viewer"):
        sess = self.users.session(request.cookies.get(COOKIE))
        if sess is None:
            raise HTTPException(303, headers={"Location": "/login?next=" + request.url.path})
        if not allowed(sess["role"], role):
            raise HTTPException(403, "your role (%s) may not do this; it needs %s" % (sess["role"], role))
        return sess

    async def form(self, request, sess):
        form = dict(await request.form())
        if form.get("csrf") != sess["csrf"]:
            raise HTTPException(403, "missing or wrong CSRF token")
        return form

    def customers_for(self, rows):
        if self.customers:
            return self.customers
        tags = sorted({s["id_tag"] for s in rows if s["id_tag"]})
        return {t: {"tags": [t]} for t in tags}

    # ---- pages -----------------------------------------------------------------------------
    def login_page(self, request):
        return self.page(request, "login.html", None, error=None, next=request.query_params.get("next", "/"))

    async def login(self, request):
        f = dict(await request.form())
        token = self.users.login(f.get("user", ""), f.get("password", ""))
        if token is None:
            r = self.page(request, "login.html", None, error="wrong user name or password", next=f.get("next", "/"))
            r.status_code = 401
            return r
        nxt = f.get("next", "/")
        r = RedirectResponse(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/", 303)
        r.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return r

    async def logout(self, request):
        sess = self.need(request)
        await self.form(request, sess)
        self.users.logout(request.cookies.get(COOKIE))
        r = RedirectResponse("/login", 303)
        r.delete_cookie(COOKIE)
        return r

    def chargers(self, request):
        sess = self.need(request)
        rows = queries.charger_rows(self.store.db, self.backend) if self.backend else []
        return self.page(request, "chargers.html", sess, rows=rows, reply=None)

    async def action(self, request):
        sess = self.need(request)
        f = await self.form(request, sess)
        dev = request.path_params["dev"]
        what = f.get("action")
        if what not in ACTIONS:
            raise HTTPException(400, "unknown action %r" % what)
        name, role, build = ACTIONS[what]
        if not allowed(sess["role"], role):
            self.users.audit(sess["user"], what, dev, "refused: role %s" % sess["role"], False)
            raise HTTPException(403, "your role (%s) may not do this; it needs %s" % (sess["role"], role))
        try:
            args = build(f)
        except (KeyError, ValueError) as e:
            self.users.audit(sess["user"], what, dev, "bad input: %s" % e, False)
            raise HTTPException(400, "bad input for %s: %s" % (what, e)) from None
        return await self._send(request, sess, dev, what, name, args, "chargers.html")

    async def _send(self, request, sess, dev, what, name, args, template):
        from starlette.concurrency import run_in_threadpool

        try:
            reply = await run_in_threadpool(self.backend.command, dev, name, args, self.command_timeout)
        except (TimeoutError, ValueError) as e:
            reply = {"ok": False, "error": str(e)}
        self.users.audit(sess["user"], what, dev, json.dumps({"args": args, "reply": reply})[:2000],
                         bool(reply.get("ok")))
        result = {"dev": dev, "action": what, "reply": reply}
        if template == "fleet.html":
            plans, prices = queries.fleet(self.store.db)
            return self.page(request, template, sess, plans=plans, prices=prices, reply=result,
                             devices=sorted(self.backend.status))
        rows = await run_in_threadpool(queries.charger_rows, self.store.db, self.backend)
        return self.page(request, template, sess, rows=rows, reply=result)

    async def events(self, request):
        self.need(request)
        return StreamingResponse(self.hub.stream(request.is_disconnected), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    def _filters(self, request):
        q = request.query_params
        f = {k: q.get(k, "").strip() for k in ("from", "to", "station", "tag", "vehicle", "status")}
        for k in ("from", "to"):
            if f[k]:
                try:
                    date.fromisoformat(f[k])
                except ValueError:
                    raise HTTPException(400, "%s must be a date YYYY-MM-DD" % k) from None
        return f

    def sessions(self, request):
        sess = self.need(request)
        f = self._filters(request)
        try:
            after = queries.parse_cursor(request.query_params.get("after"))
            rows, nxt = queries.list_sessions(self.store.db, f, self.tz, after=after)
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        return self.page(request, "sessions.html", sess, rows=rows, next=nxt, f=f,
                         statuses=queries.STATUSES, query="&".join("%s=%s" % kv for kv in f.items() if kv[1]))

    def session_detail(self, request):
        sess = self.need(request)
        sid = request.path_params["sid"]
        rows = session_rows(self.store, "WHERE s.sid = ?", (sid,))
        if not rows:
            raise HTTPException(404, "no session %s" % sid)
        s = rows[0]
        lines = receipt_lines(s["receipt"], s["minor_unit"], s["currency"]) if s["receipt"] else []
        readings = self.store.query("SELECT seq, type, t, energy_wh, power_w, ctx, st, cost_minor FROM readings"
                                    " WHERE install = ? AND sid = ? ORDER BY seq", (s["install"], sid))
        tariffs = self.store.query("SELECT r.tariffs FROM receipts r WHERE r.sid = ?", (sid,))
        check = self.store.query("SELECT * FROM checks WHERE sid = ?", (sid,))
        return self.page(request, "session.html", sess, s=s, lines=lines, readings=readings,
                         tariffs=json.loads(tariffs[0]["tariffs"]) if tariffs and tariffs[0]["tariffs"] else [],
                         check=check[0] if check else None)

    def _rows_for(self, request):
        f = self._filters(request)
        joins, where, args = queries.session_filter(f, self.tz)
        if joins:  # the export's own join carries the check; filter on it by sid
            where = ["s.sid IN (SELECT s.sid FROM sessions s%s WHERE %s)" % (joins, " AND ".join(where))]
        return session_rows(self.store, ("WHERE " + " AND ".join(where)) if where else "", args)

    def export_csv(self, request):
        sess = self.need(request)
        buf = io.StringIO()
        write_export_csv(self._rows_for(request), self.tz, buf)
        self.users.audit(sess["user"], "export_csv", "sessions", str(request.query_params), True)
        return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="sessions.csv"'})

    def _month(self, request):
        month = request.query_params.get("month") or date.today().strftime("%Y-%m")
        try:
            return month, month_bounds(month, self.tz)
        except ValueError as e:
            raise HTTPException(400, str(e)) from None

    def reports(self, request):
        sess = self.need(request)
        month, (lo, hi) = self._month(request)
        rows = session_rows(self.store, "WHERE s.start_t >= ? AND s.start_t < ?", (lo, hi))
        first = date.fromisoformat(month + "-01")
        last = date.fromisoformat(fmt_local(hi - 1, self.tz)[:10])
        days = per_day(self.store, rows, self.tz, first, last)
        peak = peak_demand(self.store, self.tz, lo, hi)
        checks = self.store.query("SELECT c.* FROM checks c JOIN sessions s ON s.sid = c.sid"
                                  " WHERE s.start_t >= ? AND s.start_t < ?", (lo, hi))
        unit = rows[0]["minor_unit"] if rows else 2
        top = max((d["energy_wh"] for d in days), default=0) or 1
        return self.page(request, "reports.html", sess, month=month, days=days, top=top, unit=unit,
                         tags=grouped(rows, "tag"), stations=grouped(rows, "station"), peak=peak,
                         vehicles=grouped([dict(s, id_tag=s["vehicle_id"]) for s in rows], "tag"),
                         breakdown=cost_breakdown(rows), verification=verification_line(checks),
                         customers=self.customers_for(rows))

    def invoice_pdf(self, request):
        sess = self.need(request)
        month, (lo, hi) = self._month(request)
        rows = session_rows(self.store, "WHERE s.start_t >= ? AND s.start_t < ?", (lo, hi))
        customers = self.customers_for(rows)
        name = request.query_params.get("customer", "")
        if name not in customers:
            raise HTTPException(404, "no customer %r" % name)
        policy = request.query_params.get("flagged", "mark")
        try:
            [inv] = invoices(rows, {name: customers[name]}, month, self.tz, flagged=policy)
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        self.users.audit(sess["user"], "invoice_pdf", name, month, True)
        return Response(invoice_pdf.render(inv, self.tz, self.seller), media_type="application/pdf",
                        headers={"Content-Disposition": 'attachment; filename="invoice-%s.pdf"' % inv["number"]})

    def fleet_page(self, request):
        sess = self.need(request)
        plans, prices = queries.fleet(self.store.db)
        return self.page(request, "fleet.html", sess, plans=plans, prices=prices, reply=None,
                         devices=sorted(self.backend.status) if self.backend else [])

    async def fleet_set(self, request):
        sess = self.need(request, "operator")
        f = await self.form(request, sess)
        try:
            # The form's departure is a local date-time of the site; the agent takes Unix seconds.
            by = datetime.fromisoformat(f["by"].strip()).replace(tzinfo=self.tz)
            veh = {"vehicle_id": f["vehicle_id"].strip(), "need_wh": int(float(f["need_kwh"]) * 1000),
                   "by": int(by.timestamp())}
        except (KeyError, ValueError) as e:
            raise HTTPException(400, "bad input: %s" % e) from None
        return await self._send(request, sess, f.get("dev", ""), "fleet_schedule", "fleet_schedule",
                                {"vehicles": [veh]}, "fleet.html")

    def users_page(self, request):
        sess = self.need(request, "admin")
        return self.page(request, "users.html", sess, users=self.users.list(), roles=ROLES, error=None,
                         audit=self.users.audit_log())

    async def users_add(self, request):
        sess = self.need(request, "admin")
        f = await self.form(request, sess)
        error = None
        try:
            self.users.add(f.get("name", ""), f.get("password", ""), f.get("role", ""))
            self.users.audit(sess["user"], "user_add", f.get("name", ""), f.get("role", ""), True)
        except ValueError as e:
            error = str(e)
        return self.page(request, "users.html", sess, users=self.users.list(), roles=ROLES, error=error,
                         audit=self.users.audit_log())

    def app(self):
        async def on_error(request, exc):
            if exc.status_code == 303:
                return RedirectResponse(exc.headers["Location"], 303)
            return Response("%d: %s" % (exc.status_code, exc.detail), exc.status_code, media_type="text/plain")

        routes = [
            Route("/", lambda r: RedirectResponse("/chargers", 303)),
            Route("/login", self.login_page), Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/chargers", self.chargers), Route("/chargers/{dev}/action", self.action, methods=["POST"]),
            Route("/events", self.events),
            Route("/sessions", self.sessions), Route("/sessions.csv", self.export_csv),
            Route("/sessions/{sid}", self.session_detail),
            Route("/reports", self.reports), Route("/invoice.pdf", self.invoice_pdf),
            Route("/fleet", self.fleet_page), Route("/fleet", self.fleet_set, methods=["POST"]),
            Route("/users", self.users_page), Route("/users", self.users_add, methods=["POST"]),
            # Chart.js from build/web-vendor (make setup); without it the pages show tables only.
            Mount("/vendor", app=StaticFiles(directory=vendor.DEST, check_dir=False)),
        ]
        @contextlib.asynccontextmanager
        async def lifespan(app):
            self.hub.loop = asyncio.get_running_loop()
            yield
            self.store.close()

        return Starlette(routes=routes, exception_handlers={HTTPException: on_error}, lifespan=lifespan)


def create_app(backend, db_url, tz, **kw):
    return Console(backend, db_url, tz, **kw).app()


__all__ = ["Console", "Request", "create_app"]
