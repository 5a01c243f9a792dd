# The charger's hardware on a real board, from its board file and the device config: the energy
# meter and the CP front end (contactor, RCD, card reader). The HAL calls this once at start-up
# and makes the hardware objects; everything else is the same on every port. The unix port's
# HAL builds the simulated station instead (laddvakt_unix.hal), and a real meter with it.
from micropython import const

from laddvakt.core.config import ConfigError

# one text for both parts, not a str object each in RAM (docs/bench.md, heap)
_UNSUPPORTED = const("%s type '%s' is not supported on this build")


def build_meter(hal, board, cfg):
    """(driver, profile name or None) for board["meter"]; ConfigError if it cannot be built."""
    mb = board["meter"]
    kind = mb["type"]
    pins = board.get("pins", {})
    if kind == "modbus":
        from laddvakt.meters.modbus import RtuMaster
        from laddvakt.meters.modbus_meter import ModbusMeter, forget_table

        # The device config's map or profile name wins (config.py allows one of them); else the
        # board's own register map, else its profile.
        profile = cfg["meter_map"] or cfg["meter_profile"] or mb.get("map") or mb.get("profile", "")
        addr = cfg["meter_address"] or mb.get("address", 1)
        baud = mb.get("baudrate", 9600)
        try:
            port = hal.rs485(mb, pins, cfg)
            meter = ModbusMeter(RtuMaster(port, baud, cfg["meter_timeout_ms"], cfg["meter_retries"]),
                                addr, profile)
        except (ValueError, OSError) as e:
            raise ConfigError("meter: %s" % e)
        finally:
            forget_table()
        if cfg["meter_map"]:
            # status and the console's `meter` say where the map came from
            meter.profile = "%s (config map)" % cfg["meter_map"].get("name", "unnamed")
        return meter, meter.profile
    if kind == "s0":
        from laddvakt.meters.s0 import build

        return build(hal, mb, pins, cfg), None
    raise ConfigError(_UNSUPPORTED % ("meter", kind))


def board_station(hal, board, cfg):
    meter, profile = build_meter(hal, board, cfg)
    kind = board["pilot"]["type"]
    if kind != "adc":
        raise ConfigError(_UNSUPPORTED % ("pilot", kind))
    from laddvakt.drivers.cp_board import BoardControl

    return meter, BoardControl(hal, board), hal.time_source(cfg), None, profile
