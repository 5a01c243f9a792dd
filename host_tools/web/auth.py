"""Console users and their log-in: scrypt-hashed passwords, roles (viewer < operator < admin),
server-side log-in sessions with a CSRF token each, and the audit log of every action. Users and
the audit log live in the backend's database (SQLite or PostgreSQL, portable SQL)."""
import hashlib
import hmac
import secrets
import threading
import time

ROLES = ("viewer", "operator", "admin")
_N, _R, _P = 2 ** 14, 8, 1  # scrypt cost: about 16 MiB and tens of ms a check
SESSION_TTL_S = 12 * 3600

_DDL = (
    "CREATE TABLE IF NOT EXISTS web_users (name TEXT PRIMARY KEY, role TEXT NOT NULL, pw TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS web_audit (at DOUBLE PRECISION NOT NULL, username TEXT NOT NULL,
        action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL, ok INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS web_audit_at ON web_audit (at)",
)


def hash_password(password):
    salt = secrets.token_bytes(16)
    h = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "scrypt$%d$%d$%d$%s$%s" % (_N, _R, _P, salt.hex(), h.hex())


def check_password(stored, password):
    try:
        kind, n, r, p, salt, h = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(h) // 2)
    except (ValueError, TypeError):
        return False
    return kind == "scrypt" and hmac.compare_digest(got.hex(), h)


class Users:
    def __init__(self, db):
        self.db = db
        with db.transaction():
            for stmt in _DDL:
                db.execute(stmt)
        self._sessions = {}  # token -> {"user", "role", "csrf", "expires"}
        self._lock = threading.Lock()

    def add(self, name, password, role):
        if role not in ROLES:
            raise ValueError("role must be one of %s" % ", ".join(ROLES))
        if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise ValueError("user name: 1..64 letters, digits, '-', '_' or '.'")
        if len(password) < 8:
            raise ValueError("password: at least 8 characters")
        self.db.execute("INSERT INTO web_users (name, role, pw) VALUES (?, ?, ?) ON CONFLICT (name)"
                        " DO UPDATE SET role = excluded.role, pw = excluded.pw", (name, role, hash_password(password)))

    def list(self):
        return self.db.query("SELECT name, role FROM web_users ORDER BY name")

    def login(self, name, password, now=None):
        """A new session token for a right name and password, else None."""
        rows = self.db.query("SELECT role, pw FROM web_users WHERE name = ?", (name,))
        if not rows or not check_password(rows[0]["pw"], password):
            return None
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[token] = {"user": name, "role": rows[0]["role"], "csrf": secrets.token_urlsafe(24),
                                     "expires": (now or time.time()) + SESSION_TTL_S}
        return token

    def session(self, token, now=None):
        with self._lock:
            s = self._sessions.get(token or "")
            if s and s["expires"] < (now or time.time()):
                del self._sessions[token]
                s = None
            return s

    def logout(self, token):
        with self._lock:
            self._sessions.pop(token or "", None)

    def audit(self, user, action, target, detail, ok):
        self.db.execute("INSERT INTO web_audit (at, username, action, target, detail, ok) VALUES (?, ?, ?, ?, ?, ?)",
                        (time.time(), user, action, target, detail[:2000], 1 if ok else 0))

    def audit_log(self, limit=200):
        return self.db.query("SELECT * FROM web_audit ORDER BY at DESC LIMIT ?", (limit,))


def allowed(role, need):
    return ROLES.index(role) >= ROLES.index(need)
