"""`make bench`: the runner (python -m host_tools.bench), one module per area in areas/, the
tight-heap run (tight_heap). mp/ holds MicroPython scripts the areas run under the unix port:
they are not part of this package and are never imported by CPython."""
