"""The console in a thread (uvicorn) and Debian's chromium under Playwright, for the browser
test, the bench and `make console-web`. Nothing is downloaded: Playwright drives
/usr/bin/chromium (host_tools/debian_deps.sh installs it)."""
import contextlib
import os
import shutil
import threading
import time

import uvicorn

CHROMIUM = os.environ.get("LADDVAKT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


class WebServer:
    """Serve an ASGI app on 127.0.0.1:port from a background thread."""

    def __init__(self, app, port, host="127.0.0.1"):
        self.url = "http://%s:%d" % (host, port)
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("web console did not start on %s" % self.url)
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


@contextlib.contextmanager
def chromium():
    """A headless Debian chromium driven by Playwright; yields the Browser."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise RuntimeError("chromium is not installed (make debian-deps)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            browser.close()
