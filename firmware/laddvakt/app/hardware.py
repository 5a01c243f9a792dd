# The charger's hardware on a real board, from its board file: the energy meter and the CP
# front end (contactor, RCD, card reader). The HAL calls this; the unix port's HAL builds the
# simulated station instead (laddvakt_unix.hal).
from laddvakt.core.config import ConfigError


def board_meter(hal, board, cfg):
    """(meter, profile name) for a board with a real meter."""
    from laddvakt.meters.build import build_meter

    return build_meter(hal, board, cfg)


def board_station(hal, board, cfg):
    meter, profile = board_meter(hal, board, cfg)
    kind = board["pilot"]["type"]
    if kind != "adc":
        raise ConfigError("pilot type '%s' is not supported on this build" % kind)
    from laddvakt.drivers.cp_board import BoardControl

    return meter, BoardControl(hal, board), hal.time_source(cfg), None, profile
