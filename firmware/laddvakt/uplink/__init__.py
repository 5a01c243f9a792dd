# The uplink: MQTT link, batches of records, commands and their schemas.
