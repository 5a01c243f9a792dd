# Simulated charger surroundings for the unix-sim board: an EV, its pilot, a meter.
