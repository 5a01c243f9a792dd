"""Start a throwaway PostgreSQL server (Debian's package) on a free loopback port.

For the tests and the bench: initdb into a temporary directory, trust authentication on
127.0.0.1 only, durability off (fsync) because the data dies with the directory. PostgreSQL
refuses to run as root, so as root the server runs as the `postgres` user the package made.
"""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time

from host_tools.testing.broker import free_port


def find_bin():
    """Directory of initdb and postgres, newest version first; None if not installed."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(d, "postgres"), os.X_OK):
            return d
    return None


class PgServer:
    def __init__(self):
        self.bin = find_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.port = free_port()
        self.proc = None
        self.dir = None
        self.user = "laddvakt"

    def url(self, db="postgres"):
        return "postgresql://%s@127.0.0.1:%d/%s" % (self.user, self.port, db)

    def _as(self):
        if os.geteuid() != 0:
            return []
        return ["runuser", "-u", "postgres", "--"]

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="laddvakt-pg-")
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = os.path.join(self.dir, "data")
        subprocess.run(self._as() + [os.path.join(self.bin, "initdb"), "-D", data, "-U", self.user,
                                     "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
                       check=True, capture_output=True, timeout=120)
        self.proc = subprocess.Popen(
            self._as() + [os.path.join(self.bin, "postgres"), "-D", data, "-p", str(self.port),
                          "-k", self.dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                          "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait()
        return self

    def _wait(self, timeout=30.0):
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited: %s" % self.proc.stderr.read().decode(errors="replace"))
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def create_db(self, name):
        """A fresh empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as c:
            c.execute('CREATE DATABASE "%s"' % name)
        return self.url(name)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
