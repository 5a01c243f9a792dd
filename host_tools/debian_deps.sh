#!/usr/bin/env bash
# The Debian packages `make test` needs beyond .venv/: the real peers the tests run against.
# Installs the missing ones (as root, or with sudo when it needs no password); otherwise says
# which to install and fails, so a test never dies later on a missing broker or server.
set -euo pipefail
need=()
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null || need+=(mosquitto)  # MQTT broker
command -v socat >/dev/null || need+=(socat)                                       # pty pairs
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)        # backend at scale
command -v chromium >/dev/null || need+=(chromium)                                 # report and web console browser tests (Playwright drives it)
command -v npm >/dev/null || need+=(npm)   # the web console's Chart.js and the 32-bit MicroPython (npm registry)
python3 -c "import venv, ensurepip" 2>/dev/null || need+=(python3-venv)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  SUDO="sudo"
else
  echo "make test needs these Debian packages: ${need[*]}" >&2
  echo "install them with: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null
