# What every stage shares: config, board files, identity and atomic file writes, clock and calendar, ids.
