# laddvakt: charger-side agent. The version goes into boot records and the MQTT status.
VERSION = "0.1.0"
