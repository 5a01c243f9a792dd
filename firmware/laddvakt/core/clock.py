# Wall time that may be unknown. Until a sync (NTP, or the backend), records carry
# no wall time but a boot id and uptime; once synced, any uptime converts to wall time.
from micropython import const

_SYNCED = "synced"
_UNSYNCED = "unsynced"
# Earliest wall time we accept as a real sync (2024-01-01); an RTC that reset to
# its epoch must not be taken for the truth.
_MIN_VALID_S = const(1704067200)


class Clock:
    def __init__(self):
        self._offset_ms = None  # wall_ms - uptime_ms, once synced

    def sync(self, up_ms, unix_s):
        if unix_s < _MIN_VALID_S:
            return False
        self._offset_ms = unix_s * 1000 - up_ms
        return True

    @property
    def synced(self):
        return self._offset_ms is not None

    def wall_s(self, up_ms):
        """Unix seconds at uptime up_ms, or None while unsynced."""
        if self._offset_ms is None:
            return None
        return (up_ms + self._offset_ms) // 1000

    def quality(self):
        return _SYNCED if self._offset_ms is not None else _UNSYNCED
