# The board's card reader, built from the board file's "rfid" object (docs/boards.md) with
# pins from the HAL. Each reader has read_tag() -> an OCPP IdToken or None, polled once per
# control tick (control.Controller.tick), so a card takes the same path as `authorize`.
from laddvakt.core.board import BoardError

SUPPORTED = ("wiegand", "rc522-spi")
_RC522_HZ = 1000000  # the MFRC522 takes up to 10 MHz; 1 MHz is safe on a carrier board's wires


def build(hal, spec):
    """The reader for a board's "rfid" spec, or None where the board has none."""
    if spec is None:
        return None
    kind = spec.get("type")
    if kind == "wiegand":
        from laddvakt.drivers.wiegand import WiegandReader

        if "d0" not in spec or "d1" not in spec:
            raise BoardError("rfid type 'wiegand' needs pins 'd0' and 'd1'")
        d0, trigger = hal.wiegand_input(spec["d0"])
        d1, _ = hal.wiegand_input(spec["d1"])
        return WiegandReader(d0, d1, trigger)
    if kind == "rc522-spi":
        from laddvakt.drivers.rc522 import Rc522

        for k in ("sck", "mosi", "miso", "cs"):
            if k not in spec:
                raise BoardError("rfid type 'rc522-spi' needs pin '%s'" % k)
        return Rc522(hal.spi(spec["sck"], spec["mosi"], spec["miso"], _RC522_HZ), hal.pin_out(spec["cs"]))
    # Refused rather than ignored: with auth_mode "list" a silently dead reader would leave
    # the charger unusable without saying why.
    raise BoardError("rfid type '%s' is not supported on this build (supported: %s)"
                     % (kind, ", ".join(SUPPORTED)))
