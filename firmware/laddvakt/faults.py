# The set of active faults, in OCPP 1.6 ErrorCode vocabulary (FACTS.md). Detectors report a
# condition every tick; only the edges (raised, cleared) become journal records, so a fault
# that persists for hours costs two records, not thousands.


class Faults:
    def __init__(self):
        self.active = {}  # code -> info text given when it was raised

    def update(self, code, on, info=None):
        """Note whether `code` holds now. Returns True on an edge: the caller journals it."""
        if on:
            if code in self.active:
                return False
            self.active[code] = info
            return True
        if code not in self.active:
            return False
        del self.active[code]
        return True

    def is_active(self, code):
        return code in self.active

    def codes(self):
        return sorted(self.active)
