# The set of active faults, in OCPP 1.6 ErrorCode vocabulary (FACTS.md). Detectors report a
# condition every tick; only the edges (raised, cleared) become journal records, so a fault
# that persists for hours costs two records, not thousands.
# One code can have several owners (InternalError: the journal when full, and the watchdog
# after a reset): each holds it under its own `src`, and the code stays active while any
# source holds it, so one owner's clear never hides another's fault.


class Faults:
    def __init__(self):
        self.active = {}  # code -> info text given when it was raised
        self._held = {}  # code -> {src: info}, the sources holding an active code

    def update(self, code, on, info=None, src=None):
        """Note whether `code` holds now for source `src`. Returns True on an edge of the code
        as a whole (first source raises it, last one clears it): the caller journals it."""
        held = self._held.get(code)
        if on:
            if held is None:
                self._held[code] = {src: info}
                self.active[code] = info
                return True
            if src not in held:
                held[src] = info
            return False
        if held is None or src not in held:
            return False
        del held[src]
        if held:
            # Still held: the info shown is now that of a source still holding it.
            for v in held.values():
                self.active[code] = v
                break
            return False
        del self._held[code]
        del self.active[code]
        return True

    def is_active(self, code):
        return code in self.active

    def held_by(self, code, src):
        held = self._held.get(code)
        return held is not None and src in held

    def sources(self, code):
        """The sources holding `code` now (sorted; None for the unnamed default source)."""
        held = self._held.get(code)
        return sorted(held, key=lambda s: "" if s is None else s) if held else []

    def codes(self):
        return sorted(self.active)
