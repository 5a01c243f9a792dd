# Board entry point: MicroPython runs this after boot.py.
import sys

from laddvakt import app

rc = app.main()
if sys.platform != "esp32" and rc:
    sys.exit(rc)
