"""Run the reference backend: python -m host_tools.backend --broker HOST:PORT --db PATH|URL.

--db takes a SQLite file or a postgresql://user@host:port/db URL (same schema). Several
workers started with the same --share GROUP split the fleet's records (MQTT shared
subscription). --keys FILE ({"<dev>": "<hex key>"}) lets the backend verify signed sessions
and sign the commands and acks it sends (docs/mqtt.md, Authentication). --user (password from
LADDVAKT_BACKEND_MQTT_PASSWORD, never a flag) and --tls-ca/--tls-cert/--tls-key connect to a
broker with the generated ACL and TLS (docs/backend.md, Broker security).
"""
import argparse
import os
import signal
import sys
import threading

from .service import Backend


def _host_port(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    return host, int(port)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host_tools.backend", description=__doc__)
    ap.add_argument("--broker", type=_host_port, default=("127.0.0.1", 1883), help="HOST:PORT")
    ap.add_argument("--db", default="build/backend.db",
                    help="SQLite file (created if missing) or postgresql://… URL")
    ap.add_argument("--client-id", default="laddvakt-backend")
    ap.add_argument("--share", metavar="GROUP", help="join shared subscription group GROUP")
    ap.add_argument("--keys", metavar="FILE", help="JSON {device id: hex HMAC key}")
    # Issue 19: the operators' web console (docs/web.md).
    ap.add_argument("--http", type=_host_port, metavar="HOST:PORT", help="serve the web console here")
    ap.add_argument("--tz", default="UTC", help="the site's IANA time zone for the console and reports")
    ap.add_argument("--admin", metavar="NAME",
                    help="create or update admin user NAME with the password in $LADDVAKT_ADMIN_PASSWORD")
    ap.add_argument("--customers", metavar="FILE", help='invoice customers: JSON {name: {"tags": [...], ...}}')
    ap.add_argument("--seller", metavar="FILE", help='the invoices\' seller: JSON {"name", "address", "vat_id"}')
    ap.add_argument("--gap-alert-s", type=float, default=300.0, metavar="S",
                    help="a hole in a device's records open this long is an alert (default 300)")
    ap.add_argument("--user", help="broker user (the ACL's backend user); password in LADDVAKT_BACKEND_MQTT_PASSWORD")
    ap.add_argument("--tls-ca", dest="tls_ca", help="CA file that signed the broker's certificate (enables TLS)")
    ap.add_argument("--tls-cert", dest="tls_cert", help="client certificate (PEM), with --tls-key")
    ap.add_argument("--tls-key", dest="tls_key")
    args = ap.parse_args(argv)
    if args.http:
        from host_tools.report.accounting import zone

        try:
            tz = zone(args.tz)
        except ValueError as e:
            ap.error(str(e))
        if args.admin and not os.environ.get("LADDVAKT_ADMIN_PASSWORD"):
            ap.error("--admin needs the password in $LADDVAKT_ADMIN_PASSWORD")
    auth = None
    if args.user:
        auth = (args.user, os.environ.get("LADDVAKT_BACKEND_MQTT_PASSWORD"))
        if auth[1] is None:
            print("backend: --user needs LADDVAKT_BACKEND_MQTT_PASSWORD", file=sys.stderr)
            return 2
    tls = None
    if args.tls_ca:
        tls = {"ca_certs": args.tls_ca, "certfile": args.tls_cert, "keyfile": args.tls_key}
    elif args.tls_cert or args.tls_key:
        print("backend: --tls-cert/--tls-key need --tls-ca", file=sys.stderr)
        return 2

    from .billing import load_keys
    from .db import is_postgres

    keys = load_keys(args.keys) if args.keys else None
    if not is_postgres(args.db) and os.path.dirname(args.db):
        os.makedirs(os.path.dirname(args.db), exist_ok=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())

    host, port = args.broker
    backend = Backend(args.db, host, port, client_id=args.client_id,
                      on_receipt=lambda text: print(text, flush=True), share=args.share, keys=keys,
                      gap_alert_s=args.gap_alert_s, auth=auth, tls=tls)
    try:
        backend.start()
    except (OSError, TimeoutError) as e:
        print("backend: cannot start on %s:%d: %s" % (host, port, e), file=sys.stderr)
        return 1
    where = args.db.split("@")[-1] if is_postgres(args.db) else args.db  # no password in logs
    print("backend: listening on %s:%d, db %s" % (host, port, where), file=sys.stderr, flush=True)
    if args.http:
        serve_web(backend, args, tz)
    else:
        # Event.wait with a timeout so the signal handler gets a chance to run on the main thread.
        while not done.wait(0.5):
            pass
    backend.stop()
    print("backend: stopped; %d rejected, %d errors" % (backend.rejected, backend.errors),
          file=sys.stderr)
    return 0


def serve_web(backend, args, tz):
    """Run the console on args.http until SIGINT/SIGTERM (uvicorn handles both)."""
    import json

    import uvicorn

    from host_tools.web.app import Console

    customers = seller = None
    if args.customers:
        with open(args.customers) as f:
            customers = json.load(f)
    if args.seller:
        with open(args.seller) as f:
            seller = json.load(f)
    console = Console(backend, args.db, tz, customers=customers, seller=seller)
    if args.admin:
        console.users.add(args.admin, os.environ["LADDVAKT_ADMIN_PASSWORD"], "admin")
    host, port = args.http
    print("backend: web console on http://%s:%d/" % (host, port), file=sys.stderr, flush=True)
    uvicorn.Server(uvicorn.Config(console.app(), host=host, port=port, log_level="warning")).run()


if __name__ == "__main__":
    sys.exit(main())
