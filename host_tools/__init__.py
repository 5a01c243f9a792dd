"""Host-side tools for laddvakt: set-up, simulation, reference backend, reports."""
