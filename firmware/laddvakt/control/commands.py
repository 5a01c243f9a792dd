# MQTT/console commands of charging control: name -> handler(args) -> result dict. The
# control code rejects a bad argument with ValueError, which the transport
# (uplink/commands.py, CommandHandler) answers as an error reply with its reason. Kept apart
# from the transport so either can change alone. docs/mqtt.md lists them.
_FAULT_CODES = ("PowerSwitchFailure",)


# Charging profiles and fleet plans are optional: their modules load at the first command that
# uses them, not at boot (issue 15; docs/bench.md, code_ram_bytes_inplace).
def _prof():
    from laddvakt.control import charging_profiles

    return charging_profiles


def _fleet():
    from laddvakt.control import fleet

    return fleet


def _num(args, key, lo, hi, required=True):
    v = args.get(key)
    if v is None and not required:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise ValueError("'%s' must be a number %s..%s" % (key, lo, hi))
    return v


def _tag(args, key="id_tag"):
    t = args.get(key)
    if not isinstance(t, str) or not 0 < len(t) <= 20:
        raise ValueError("'%s' must be a string of 1..20 characters (OCPP IdToken)" % key)
    return t


def _opt_str(args, key, n):
    v = args.get(key)
    if v is not None and (not isinstance(v, str) or not 0 < len(v) <= n):
        raise ValueError("'%s' must be a string of 1..%d characters" % (key, n))
    return v


def control_commands(ctl, now, wall, fault_codes):
    """The control commands over controller `ctl`; now() is the uptime in ms, wall() the wall
    time in s (None before a sync), fault_codes() the active faults."""

    def authorize(a):
        return {"status": ctl.present_tag(_tag(a))}

    def remote_start(a):
        # OCPP RemoteStartTransaction: the backend vouches for the tag, no list check.
        return {"status": ctl.present_tag(_tag(a), _opt_str(a, "vehicle_id", 36), remote=True)}

    def remote_stop(a):
        ctl.request_stop("Remote")
        return {"status": "Accepted", "sid": ctl.sid}

    def set_profile(a):
        p = _prof().parse(a.get("profile"))
        ctl.charging_profiles().install(p, ctl.in_session)
        ctl.dr.heard(now())
        ctl.refresh()
        return {"status": "Accepted", "offer_a": ctl.offer_da / 10}

    def clear_profile(a):
        # Not "id": a command's id is the transport's (the reply's), so the profile's is profile_id.
        pid = a.get("profile_id")
        purpose = a.get("purpose")
        if purpose is not None:
            if purpose not in _prof().PURPOSES:
                raise ValueError("'purpose' must be one of " + ", ".join(_prof().PURPOSES))
            purpose = _prof().PURPOSES.index(purpose)
        stack = a.get("stack_level")
        if pid is not None and (isinstance(pid, bool) or not isinstance(pid, int)):
            raise ValueError("'profile_id' must be an integer")
        if stack is not None and (isinstance(stack, bool) or not isinstance(stack, int)):
            raise ValueError("'stack_level' must be an integer")
        n = ctl.charging_profiles().clear(pid, purpose, stack)
        ctl.dr.heard(now())
        ctl.refresh()
        return {"status": "Accepted" if n else "Unknown", "cleared": n}

    def get_profiles(a):
        return {"profiles": [_prof().to_json(p) for p in ctl.charging_profiles().items]}

    def get_composite_schedule(a):
        dur = _num(a, "duration", 1, 7 * 86400)
        unit = a.get("charging_rate_unit", "A")
        if unit not in ("A", "W"):
            raise ValueError("'charging_rate_unit' must be A or W")
        t0 = a.get("start")
        if t0 is None:
            t0 = wall()
            if t0 is None:
                return {"status": "Rejected", "reason": "clock not synced"}
        t0 = _prof().parse_time(t0, "start")
        # Relative profiles run from the open session's start, else from the query's start.
        tx = ctl.tx_start if ctl.in_session else t0
        periods = []
        for sp, da, n in ctl.charging_profiles().composite(t0, int(dur), tx):
            # In W: the most that can flow at this per-phase offer on all the station's phases
            # (an EV may use any of them), so never above a W limit in force; numberPhases is
            # the one of the limit that set the offer.
            lim = da * ctl.volts * ctl.phases // 10 if unit == "W" else da / 10
            periods.append({"startPeriod": sp, "limit": lim, "numberPhases": n})
        return {"status": "Accepted", "connectorId": 1, "scheduleStart": t0,
                "chargingSchedule": {"duration": int(dur), "startSchedule": t0,
                                     "chargingRateUnit": unit,
                                     "chargingSchedulePeriod": periods}}

    def limit(a):
        if a.get("clear"):
            ctl.dr.set(now(), None, 0)
        else:
            dur = _num(a, "duration_s", 1, 7 * 86400)
            amps = _num(a, "current_a", 0, 80, False)
            watts = _num(a, "power_w", 0, 1000000, False)
            if (amps is None) == (watts is None):
                raise ValueError("give one of 'current_a' or 'power_w'")
            da = int(amps * 10) if amps is not None else int(watts) * 10 // (ctl.volts * ctl.phases)
            ctl.dr.set(now(), da, int(dur))
        ctl.refresh()
        return {"offer_a": ctl.offer_da / 10, "duty_pm": ctl.duty}

    def session_limit(a):
        wh = _num(a, "energy_wh", 0, 1000000, False)
        s = _num(a, "duration_s", 0, 604800, False)
        if wh is None and s is None:
            raise ValueError("give 'energy_wh' and/or 'duration_s'")
        if wh is not None:
            ctl.session_max_wh = int(wh)
        if s is not None:
            ctl.session_max_s = int(s)
        return {"energy_wh": ctl.session_max_wh, "duration_s": ctl.session_max_s}

    def prices(a):
        ctl.fleet_planner().set_prices(_fleet().Prices(a.get("start"), a.get("step_s"), a.get("prices")))
        ctl.dr.heard(now())
        return {"periods": len(a["prices"])}

    def fleet_schedule(a):
        vs = a.get("vehicles")
        if not isinstance(vs, list) or len(vs) > 32:
            raise ValueError("'vehicles' must list at most 32 vehicles")
        out = {}
        for v in vs:
            if not isinstance(v, dict):
                raise ValueError("each vehicle must be an object")
            vid = _opt_str(v, "vehicle_id", 36)
            if vid is None:
                raise ValueError("each vehicle needs 'vehicle_id'")
            need = _num(v, "need_wh", 1, 1000000)
            by = _prof().parse_time(v.get("by"), "by")
            if by is None:
                raise ValueError("each vehicle needs 'by' (its deadline)")
            mw = _num(v, "max_w", 0, 1000000, False)
            out[vid] = (int(need), by, int(mw or 0))
        ctl.fleet_planner().set_fleet(out)
        ctl.dr.heard(now())
        ctl.refresh()
        return {"vehicles": len(out), "plan": plan_json(ctl.fleet_planner().plan)}

    def availability(a):
        v = a.get("available")
        if not isinstance(v, bool):
            raise ValueError("'available' must be true or false")
        # OCPP ChangeAvailability: during a session the change waits for its end.
        return {"status": ctl.set_available(v)}

    def clear_fault(a):
        code = a.get("code")
        if code not in _FAULT_CODES:
            raise ValueError("'code' must be one of " + ", ".join(_FAULT_CODES))
        ctl.detect.reset(code)  # service reset of a fault that clears only on command
        return {"faults": fault_codes()}

    # A bad argument is a ValueError, which CommandHandler.reply answers as an error (no
    # wrapper per command: one was a function and a closure, 88 bytes, for each of these).
    return {
        "authorize": authorize, "remote_start": remote_start, "remote_stop": remote_stop,
        "set_profile": set_profile, "clear_profile": clear_profile, "get_profiles": get_profiles,
        "get_composite_schedule": get_composite_schedule, "limit": limit,
        "session_limit": session_limit, "prices": prices, "fleet_schedule": fleet_schedule,
        "availability": availability, "clear_fault": clear_fault,
    }


def plan_json(p):
    if p is None:
        return None
    return {"feasible": p.feasible, "shortfall_wh": p.shortfall_wh, "cost_minor": p.cost_minor,
            "windows": [[a, b] for a, b in p.windows]}


def agent_status(a):
    """The status command's result (docs/mqtt.md): the agent's state, kept with the command code."""
    s = a.tracker.session
    return {
        "session": s.sid if s else None,
        "journal_seq": a.journal.seq,
        "delivered_seq": a.journal.delivered,
        "uptime_ms": a.clock.up(a.up_ms),
        "faults": a.faults.codes(),
        "connector": a.control.status,
        "meter": a.metering.status(),
        "journal_bytes": a.journal.bytes_used(),
        "journal_skipped": a.journal.skipped,
        "journal_full": a.guard.full,
        "cost_minor": a.pricing.cost.running_minor() if a.pricing.cost else None,
    }
