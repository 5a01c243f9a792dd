# What every stage shares: config, board files, identity, clock, calendar, ids, files.
