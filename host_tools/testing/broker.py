"""Start an MQTT broker on a free loopback port for the simulation and the tests.

mosquitto is used when it is installed (CI installs it from Debian). Without
it, the simulation falls back to amqtt, a pure-Python broker from PyPI; tests
that need broker behaviour to match production ask for mosquitto explicitly.
"""
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_mosquitto():
    for cand in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def _wait_listening(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("broker exited early with code %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("broker did not listen on port %d within %.0f s" % (port, timeout))


class Broker:
    """A broker subprocess; use as a context manager."""

    def __init__(self, kind="auto", port=None, extra_conf="", files=None, conf=None):
        """extra_conf: mosquitto config lines; "{dir}" in them names the broker's
        own directory, where `files` ({name: text}) are written. mosquitto drops
        root privileges before reading them, so that directory is world-readable.
        conf: fn(dir, port) -> a whole mosquitto.conf, in place of ours (a generated one)."""
        if kind == "auto":
            kind = "mosquitto" if find_mosquitto() else "amqtt"
        if kind == "mosquitto" and not find_mosquitto():
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.kind = kind
        self.port = port or free_port()
        self.extra_conf = extra_conf
        self.files = files or {}
        self.conf = conf
        self.proc = None
        self._dir = None

    def start(self):
        self._dir = tempfile.mkdtemp(prefix="laddvakt-broker-")
        os.chmod(self._dir, 0o755)
        for name, text in self.files.items():
            with open(os.path.join(self._dir, name), "w") as f:
                f.write(text)
            os.chmod(os.path.join(self._dir, name), 0o644)
        extra = self.extra_conf.replace("{dir}", self._dir)
        log = open(os.path.join(self._dir, "broker.log"), "wb")
        if self.kind == "mosquitto":
            conf = os.path.join(self._dir, "mosquitto.conf")
            with open(conf, "w") as f:
                if self.conf:
                    f.write(self.conf(self._dir, self.port))
                else:
                    f.write("listener %d 127.0.0.1\npersistence false\n" % self.port)
                    if "allow_anonymous" not in extra:
                        f.write("allow_anonymous true\n")
                    f.write(extra)
            cmd = [find_mosquitto(), "-c", conf]
        else:
            conf = os.path.join(self._dir, "amqtt.yaml")
            with open(conf, "w") as f:
                f.write(
                    "listeners:\n  default:\n    type: tcp\n    bind: 127.0.0.1:%d\n"
                    "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
                    "    allow_anonymous: true\n" % self.port
                )
            amqtt = os.path.join(os.path.dirname(sys.executable), "amqtt")
            cmd = [amqtt, "-c", conf]
        self._cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        _wait_listening(self.port, self.proc)
        return self

    def kill_and_restart(self):
        """kill -9, then start again on the same port from the same directory, so a broker
        configured with persistence finds its last autosave (issue 16's broker kill test)."""
        self.proc.kill()
        self.proc.wait()
        log = open(os.path.join(self._dir, "broker.log"), "ab")
        self.proc = subprocess.Popen(self._cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        _wait_listening(self.port, self.proc)

    def log_text(self):
        try:
            with open(os.path.join(self._dir, "broker.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@contextlib.contextmanager
def tls_broker():
    """mosquitto with its plain listener (the backend, a fuzzer) and a TLS one that requires a
    client certificate (the agent); .tls_port and .certs ({name: PEM}, made for localhost by
    host_tools/testing/tlscerts.py) are set."""
    from host_tools.testing import tlscerts

    certs = tlscerts.make("localhost")
    port = free_port()
    conf = ("listener %d 127.0.0.1\ncafile {dir}/ca.pem\ncertfile {dir}/server.pem\n"
            "keyfile {dir}/server.key\nrequire_certificate true\n" % port)
    with Broker("mosquitto", extra_conf=conf, files=certs) as b:
        b.tls_port = port
        b.certs = certs
        yield b
