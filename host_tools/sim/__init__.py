"""The agent in simulation: one simulated agent and `make sim`'s day (agent), a month of a fleet
(fleet_month), a fleet night (fleet_night), a device with a backlog (backlog) and random
whole-agent cases for the contactor rule (contactor_cases)."""
