"""The web console in a real browser (Debian's chromium under Playwright) against a real
mosquitto, the reference backend and a simulated agent: log in, see the charger come online
and its session start live, stop it from the page, filter the sessions, open the receipt,
download the CSV and an invoice PDF and check them against the stored receipts. Screenshots of
every page go to build/screenshots/ (docs/web.md lists them)."""
import csv
import io
import os
import subprocess

from pypdf import PdfReader

from host_tools.backend.service import Backend, wait_for
from host_tools.repo import BUILD
from host_tools.report.accounting import zone
from host_tools.sim import agent as sim
from host_tools.testing.broker import free_port
from host_tools.web import vendor
from host_tools.web.app import Console
from host_tools.web.rig import WebServer, chromium

SHOTS = os.path.join(BUILD, "screenshots")
# 20x real time: the EV plugs in after 3 simulated seconds and would charge for an hour.
LIVE = dict(sim.SCENARIO, sync_after_s=0, tick_real_ms=50, tick_ms=1000, end_s=3600, visits=[
    {"arrive_s": 3, "leave_s": 3500, "need_wh": 60000, "max_w": 11000, "phases": 3,
     "id_tag": "CARD-1", "vehicle_id": "VAN-9"}])
PASSWORD = "browser-test-pw"


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, name + ".png"), full_page=True)


def test_console_in_chromium(mosquitto, tmp_path):
    vendor.ensure()  # make setup fetches it; a bare checkout gets it here
    db = str(tmp_path / "backend.db")
    backend = Backend(db, "127.0.0.1", mosquitto.port, on_receipt=lambda text: None).start()
    agent = None
    try:
        console = Console(backend, db, zone("Europe/Stockholm"))
        console.users.add("ops", PASSWORD, "admin")
        with WebServer(console.app(), free_port()) as web, chromium() as browser:
            page = browser.new_page(accept_downloads=True)
            page.goto(web.url + "/chargers")
            assert "/login" in page.url
            shot(page, "01-login")
            page.fill("#user", "ops")
            page.fill("#password", PASSWORD)
            page.click("#login")
            page.wait_for_url("**/chargers")
            page.wait_for_selector("#live:text('on')")
            assert page.locator("#none").is_visible()  # no charger yet

            data = str(tmp_path / "dev")
            sim.prepare_device(data, mosquitto.port, LIVE)
            cmd, env = sim.agent_command(data)
            agent = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            # Live: the row appears, goes online, and shows the session the agent opened.
            page.wait_for_selector("#dev-sim-1 .state.online", timeout=20000)
            page.wait_for_function(
                "() => (document.querySelector('#dev-sim-1 .session') || {}).textContent"
                " && document.querySelector('#dev-sim-1 .session').textContent.trim().length > 10",
                timeout=20000)
            sid = page.inner_text("#dev-sim-1 .session").strip()
            page.wait_for_function("() => document.querySelector('#dev-sim-1 .connector').textContent"
                                   ".indexOf('Charging') >= 0", timeout=20000)
            shot(page, "02-chargers-live")

            page.click("#dev-sim-1 button.stop")
            page.wait_for_selector("#reply")
            assert "ok" in page.inner_text("#reply .ok") and "remote_stop" in page.inner_text("#reply")
            shot(page, "03-stopped")
            assert wait_for(lambda: backend.store.session(sid), 20), "session not stored"
            stored = backend.store.session(sid)
            assert stored["stop_reason"] == "Remote"
            # The console notes the vehicle from the same batch, just after the backend stored it.
            assert wait_for(lambda: console.store.query("SELECT 1 FROM web_vehicles WHERE sid = ?", (sid,)), 5)

            page.goto(web.url + "/sessions")
            page.fill("input[name=station]", "sim-1")
            page.fill("input[name=tag]", "CARD-1")
            page.fill("input[name=vehicle]", "VAN-9")  # noted live, from the stored session_end
            page.click("#filter")
            page.wait_for_selector("#sessions a[href='/sessions/%s']" % sid)
            shot(page, "04-sessions")
            page.click("#sessions a[href='/sessions/%s']" % sid)
            page.wait_for_selector("#receipt")
            assert "%d.%02d SEK" % divmod(stored["cost_minor"], 100) in page.inner_text("#total")
            assert "Net" in page.inner_text("#receipt") and page.locator("#readings tr").count() >= 3
            shot(page, "05-receipt")

            page.goto(web.url + "/sessions?station=sim-1")
            with page.expect_download() as dl:
                page.click("#csv")
            rows = list(csv.DictReader(io.StringIO(open(dl.value.path()).read())))
            [row] = [r for r in rows if r["session"] == sid]
            assert row["total"] == "%d.%02d" % divmod(stored["cost_minor"], 100)
            assert row["vehicle"] == "VAN-9" and row["id_tag"] == "CARD-1" and row["station"] == "sim-1"

            month = row["start_local"][:7]
            page.goto(web.url + "/reports?month=" + month)
            page.wait_for_selector("body[data-charts='2']")  # Chart.js from the npm registry drew both
            shot(page, "06-reports")
            with page.expect_download() as dl:
                page.click("#invoices a.invoice")
            text = PdfReader(dl.value.path()).pages[0].extract_text()
            assert "Invoice %s-001" % month.replace("-", "") in text and sid in text
            assert "total %d.%02d SEK" % divmod(stored["cost_minor"], 100) in text

            page.goto(web.url + "/fleet")
            page.select_option("#fleet-form select[name=dev]", "sim-1")
            page.fill("#fleet-form input[name=vehicle_id]", "VAN-9")
            page.fill("#fleet-form input[name=need_kwh]", "20")
            page.fill("#fleet-form input[name=by]", "2026-11-20T18:00")  # Stockholm time
            page.click("#fleet-form button")
            page.wait_for_selector("#reply")
            assert "fleet_schedule" in page.inner_text("#reply") and page.locator("#reply .ok").count() == 1
            shot(page, "07-fleet")
            page.goto(web.url + "/users")
            assert "remote_stop" in page.inner_text("#audit")
            shot(page, "08-users-audit")
    finally:
        if agent is not None:
            agent.kill()
            agent.wait()
        backend.stop()
