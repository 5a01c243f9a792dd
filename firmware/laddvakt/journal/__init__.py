# The journal on flash: frames, segments, records and their compact encoding.
