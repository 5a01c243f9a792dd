"""A technician's tools for a real board on a serial port: flash MicroPython, make its config
(provision), deploy the agent, talk to its console, scan its Modbus line, run the firmware
tests on it."""
