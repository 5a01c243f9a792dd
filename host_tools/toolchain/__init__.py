"""What builds, checks and runs the firmware on the host: mpy-cross (build_mpy), mypy against
the ESP32 stubs (typecheck), umqtt.simple fetched into build/lib (fetch_umqtt), the unix-port
micropython (unix_port) and the firmware's pure modules imported under CPython (firmware)."""
