# Unix-port only, never deployed: the unix HAL, the simulation, bench and CLI helpers.
