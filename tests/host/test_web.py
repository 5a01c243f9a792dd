"""The web console in-process (Starlette's TestClient, a real SQLite store): log-in and roles,
CSRF, the sessions list's filters and keyset paging, a session's detail, the CSV and the PDF
invoice from the same rows, reports in the site's zone, users and the audit log. The live view
and the actions against a running agent are in tests/integration/test_web_browser.py."""
import csv
import io
import re

import pytest
from pypdf import PdfReader
from starlette.testclient import TestClient

from host_tools.backend.store import Store
from host_tools.web.app import Console
from tests.host.test_accounting import EDGES, INSTALL, TZ, end_rec


@pytest.fixture
def console(tmp_path):
    path = str(tmp_path / "b.db")
    s = Store(path)
    recs = [end_rec(i + 1, t, 7391 + 1013 * i, "TAG%d" % (i % 2)) for i, (t, _) in enumerate(EDGES)]
    recs += [end_rec(100 + i, EDGES[0][0] - 86400 * (i + 1), 5000, "BULK") for i in range(120)]
    s.ingest_batch({"v": 1, "dev": "st-1", "install": INSTALL, "recs": recs})
    s.close()
    c = Console(None, path, TZ)
    c.users.add("ada", "correct horse", "admin")
    c.users.add("olle", "operator pw", "operator")
    c.users.add("vera", "viewer pw!", "viewer")
    with TestClient(c.app(), follow_redirects=False) as client:
        yield c, client


def login(client, user, pw):
    r = client.post("/login", data={"user": user, "password": pw, "next": "/sessions"})
    assert r.status_code == 303, r.text
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/sessions").text).group(1)


def test_login_required_and_wrong_password(console):
    c, client = console
    assert client.get("/sessions").status_code == 303
    assert client.post("/login", data={"user": "ada", "password": "wrong"}).status_code == 401
    stored = c.store.query("SELECT pw FROM web_users WHERE name = 'ada'")[0]["pw"]
    assert stored.startswith("scrypt$") and "correct horse" not in stored


def test_roles_and_csrf(console):
    c, client = console
    csrf = login(client, "vera", "viewer pw!")
    assert client.get("/users").status_code == 403
    r = client.post("/chargers/st-1/action", data={"csrf": csrf, "action": "remote_stop"})
    assert r.status_code == 403 and "needs operator" in r.text
    client.cookies.clear()
    csrf = login(client, "ada", "correct horse")
    r = client.post("/users", data={"csrf": "forged", "name": "eve", "password": "12345678", "role": "admin"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = client.post("/users", data={"csrf": csrf, "name": "eve", "password": "short", "role": "admin"})
    assert "at least 8" in r.text
    r = client.post("/users", data={"csrf": csrf, "name": "eve", "password": "long enough", "role": "viewer"})
    assert r.status_code == 200 and "eve" in r.text
    audit = c.store.query("SELECT username, action, target, ok FROM web_audit")
    assert {"username": "vera", "action": "remote_stop", "target": "st-1", "ok": 0} in audit
    assert {"username": "ada", "action": "user_add", "target": "eve", "ok": 1} in audit


def test_sessions_filters_and_keyset_paging(console):
    c, client = console
    login(client, "vera", "viewer pw!")
    seen, url = [], "/sessions"
    while url:
        page = client.get(url).text
        seen += re.findall(r'href="/sessions/([^"]+)"', page)
        m = re.search(r'id="next" href="([^"]+)"', page)
        url = m.group(1).replace("&amp;", "&") if m else None
    assert len(seen) == len(set(seen)) == len(EDGES) + 120  # every session once, over three pages
    page = client.get("/sessions?from=2026-11-01&to=2026-11-30").text
    assert re.findall(r'href="/sessions/([^"]+)"', page) == ["%s-%08d" % (INSTALL, 7)]
    assert "2026-11-01 00:30:00 CET" in page
    page = client.get("/sessions?tag=TAG1&status=pending").text
    assert len(re.findall(r'href="/sessions/', page)) == 3
    page = client.get("/sessions?vehicle=car-TAG1").text
    assert len(re.findall(r'href="/sessions/', page)) == 3
    assert "No sessions match" in client.get("/sessions?vehicle=car-TAG1&tag=TAG0").text
    assert client.get("/sessions?from=yesterday").status_code == 400
    assert client.get("/sessions?after=nonsense").status_code == 400
    assert client.get("/sessions?status=weird").status_code == 400


def test_detail_csv_and_invoice_agree(console):
    c, client = console
    login(client, "ada", "correct horse")
    sid = "%s-%08d" % (INSTALL, 7)
    page = client.get("/sessions/" + sid).text
    stored = c.store.session(sid)
    assert "%d.%02d SEK" % divmod(stored["cost_minor"], 100) in page and "VAT 25.00 %" in page
    assert client.get("/sessions/nope").status_code == 404
    r = client.get("/sessions.csv?from=2026-10-01&to=2026-10-31")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert r.headers["content-type"].startswith("text/csv") and len(rows) == 3
    total = sum(int(x["total"].replace(".", "")) for x in rows)
    want = sum(s["cost_minor"] for s in c.store.sessions() if s["sid"] in {x["session"] for x in rows})
    assert total == want
    r = client.get("/invoice.pdf?month=2026-10&customer=TAG0")
    assert r.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert "Invoice 202610-001" in text and "TAG0" in text
    assert client.get("/invoice.pdf?month=2026-10&customer=nobody").status_code == 404
    page = client.get("/reports?month=2026-10").text
    assert page.count("<td>2026-10-") == 31 and "3 sessions: 0 verified" in page
    assert "<td>car-TAG1</td><td class=\"n\">2</td>" in page  # per vehicle
    assert client.get("/reports?month=10/2026").status_code == 400
