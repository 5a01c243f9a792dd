"""Reference backend for the laddvakt MQTT contract (docs/mqtt.md): store, receipts, service.

CPython only; it runs on the host, never on the device.
"""
