# Home Assistant's wiring (app/wiring.py's make_uplink calls it): discovery, its state values and
# its controls, made from the agent. Loaded only when ha_discovery is on.
from laddvakt.core import config
from laddvakt.meters.report import currents_a


def make(agent, cfg, handlers, commands):
    """Home Assistant discovery (uplink/ha.py), with its controls when ha_controls is on."""
    from laddvakt.uplink.ha import Discovery

    controls = None
    if cfg["ha_controls"]:
        commands()  # the controls call the control commands' handlers
        from laddvakt.uplink.ha_controls import HaControls

        controls = HaControls(handlers, config.root(cfg) + "ha/set/",
                              cfg["max_current_a"], cfg["ha_id_tag"])
    d = Discovery(cfg, _state(agent), "laddvakt " + cfg["board"], controls)
    if d.error:
        print(d.error)
    return d


def _state(agent):
    """fn() -> the Home Assistant state values (docs/schemas/state.json): the only parts
    Discovery needs."""
    tracker, pricing, metering, control = agent.tracker, agent.pricing, agent.metering, agent.control
    phases = control.phases

    def state():
        s = tracker.session
        cost = pricing.cost
        st = control.status
        lim = control.dr.limit_da
        return {"power_w": metering.power_w, "energy_wh": metering.energy_wh,
                "current_a": currents_a(metering, phases),
                "session_wh": s.energy_wh if s else 0,
                "cost_minor": cost.running_minor() if s and cost else 0,
                "currency": pricing.tariff.currency, "status": st,
                "session": s.sid if s else None,
                "plugged": control.state in "BCD", "charging": st == "Charging",
                "limit_a": (control.station_da if lim is None else lim) // 10,
                "availability": "Inoperative" if control.unavailable else "Operative"}

    return state
