# Home Assistant controls (config ha_controls; docs/mqtt.md, Home Assistant): plain payloads
# on <prefix>/<device>/ha/set/<key>, mapped onto four of the backend's command handlers and
# never onto any other (no tariff, price or profile can change from here). The broker's ACL
# lets only the Home Assistant user publish there (docs/mqtt.md, Broker security). Messages are
# queued from inside umqtt's parsing (latest wins per control) and applied at the next step.
_KEYS = (b"limit", b"start", b"stop", b"availability")
_MAX_PAYLOAD = 16  # "Inoperative" is the longest we take
_WEEK_S = 7 * 86400  # the limit command's longest duration


class HaControls:
    def __init__(self, handlers, set_prefix, max_a, id_tag):
        self._h = handlers  # name -> fn(args): the command handlers (uplink/commands.py)
        self.prefix = set_prefix
        self._pre = set_prefix.encode()
        self._max_a = max_a
        self._tag = id_tag
        self._pending = {}
        self.accepted = 0
        self.refused = 0
        self.retained = 0  # retained messages on a control topic: never acted on
        self.last_error = None

    def message(self, topic, msg, retained):
        """True if topic is a control's (then it is taken or refused here)."""
        if not topic.startswith(self._pre):
            return False
        key = topic[len(self._pre):]
        if retained:
            self.retained += 1
        elif key not in _KEYS or len(msg) > _MAX_PAYLOAD:
            self._refuse("unknown control or payload too long")
        else:
            self._pending[bytes(key)] = bytes(msg)
        return True

    def _refuse(self, why):
        self.refused += 1
        self.last_error = why

    def run(self):
        """Apply what arrived since the last call; True if anything did."""
        if not self._pending:
            return False
        todo = self._pending
        self._pending = {}
        for key, msg in todo.items():
            try:
                self._apply(key, msg.decode().strip())
                self.accepted += 1
            except (ValueError, UnicodeError) as e:  # CommandError is a ValueError
                self._refuse("%s: %s" % (key.decode(), e))
        return True

    def _apply(self, key, text):
        h = self._h
        if key == b"limit":
            a = float(text)
            if not 6 <= a <= self._max_a:
                raise ValueError("limit must be 6 to %d A" % self._max_a)
            if a >= self._max_a:
                h["limit"]({"clear": True})
            else:
                h["limit"]({"current_a": int(a), "duration_s": _WEEK_S})
        elif key == b"availability":
            if text not in ("Operative", "Inoperative"):
                raise ValueError("availability must be Operative or Inoperative")
            h["availability"]({"available": text == "Operative"})
        elif text != "PRESS":
            raise ValueError("a button sends PRESS")
        elif key == b"start":
            h["remote_start"]({"id_tag": self._tag})
        else:
            h["remote_stop"]({})

    def stats(self):
        return {"accepted": self.accepted, "refused": self.refused, "retained": self.retained,
                "last_error": self.last_error}
