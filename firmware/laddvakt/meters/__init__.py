# Energy meters: Modbus profiles and the request planner, the meter drivers (Modbus, S0),
# health counters and the service that turns readings into booked energy.
