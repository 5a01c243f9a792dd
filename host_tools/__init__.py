"""Host-side tools for laddvakt (CPython), one sub-package per job: toolchain (build and check
the firmware), device (a real board), sim (the agent in simulation), backend (the reference
backend), report, bench and testing (brokers, servers and fakes the others run against)."""
