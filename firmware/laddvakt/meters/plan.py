# The Modbus meter's register maps at work: the lookup of a map, the request planner and
# register decoding. Pure: a map in, a plan out; bytes in, integers out. Floats are decoded with
# integer arithmetic, so the result is exact and the same on a board (single-precision floats)
# as on the unix port (double). The vocabulary (measurand and type numbers, names, units) is
# meters/registers.py; this module keeps its type numbers as folded const() so a Modbus board
# does not load it (tests/host/test_measurands.py checks the copies).
from micropython import const

_F32 = const(0)
_I32 = const(1)
_U32 = const(2)
_I16 = const(3)
_U16 = const(4)
_U64 = const(5)
_E8U24 = const(6)
_E8I24 = const(7)
_LO = const(1)
# registers per type, in type number order (registers.WORDS)
_WORDS = const(b"\x02\x02\x02\x01\x01\x04\x02\x02")
_MAX_REGS = const(125)
# A hole of this many unused registers (20 bytes) costs less line time than a request of its
# own (8 + 5 bytes of framing and twice the 3.5-character silence), so it is read across
# wherever the map allows it; larger holes only while a poll would take more than _TARGET reads.
_CHEAP = const(10)
_TARGET = const(3)


def _table():
    # The built-in maps (meters/maps.py, ~14 KB of heap): modbus_meter.forget_table lets the
    # module go again once the meter is built.
    from laddvakt.meters.maps import TABLE

    return TABLE


def names():
    """The built-in maps' names, most specific first (the order `meter scan` tries them)."""
    return tuple(r[0] for r in _table())


def get(name):
    """(entries, serial, gap) of a built-in map by name, or of a map given as a dict
    (docs/schemas/meter_map.json); ValueError naming the known maps or the bad field."""
    if isinstance(name, dict):
        from laddvakt.meters.mapdef import parse

        return parse(name)
    for r in _table():
        if r[0] == name:
            return r[1], r[2], r[3]
    raise ValueError("unknown meter profile '%s' (known: %s)" % (name, ", ".join(names())))


def plan(entries, gap=0, max_regs=_MAX_REGS):
    """Merge the entries' registers into few reads: same function code, at most max_regs per
    read, contiguous or overlapping registers always, and across a hole of up to `gap`
    registers the map does not use (the map says how far its meter answers such reads): every
    hole up to _CHEAP, then the smallest holes first while there are more than _TARGET reads.
    Returns a tuple of (fc, start, count, items); an item is
    (measurand, byte offset in the response data, type, word order, exponent)."""
    es = sorted(entries, key=lambda e: (e[1], e[2]))
    blocks = []
    cur = None
    for e in es:
        fc, reg = e[1], e[2]
        end = reg + _WORDS[e[3]]
        if cur is not None and fc == cur[0] and reg <= cur[2] and max(end, cur[2]) - cur[1] <= max_regs:
            cur[2] = max(end, cur[2])
            cur[3].append(e)
        else:
            cur = [fc, reg, end, [e]]
            blocks.append(cur)
    while True:
        best = -1
        hole = 0
        for i in range(len(blocks) - 1):
            a, b = blocks[i], blocks[i + 1]
            h = b[1] - a[2]
            if a[0] == b[0] and h <= gap and max(a[2], b[2]) - a[1] <= max_regs and (best < 0 or h < hole):
                best, hole = i, h
        if best < 0 or (hole > _CHEAP and len(blocks) <= _TARGET):
            break
        a = blocks[best]
        b = blocks.pop(best + 1)
        a[2] = max(a[2], b[2])
        a[3].extend(b[3])
    out = []
    for fc, start, end, items in blocks:
        out.append((fc, start, end - start,
                    tuple((e[0], 2 * (e[2] - start), e[3], e[4], e[5]) for e in items)))
    return tuple(out)


def wire_bytes(p):
    """Bytes on the wire for one poll of plan p: 8 per request, 5 + 2 per register back."""
    return sum(8 + 5 + 2 * b[2] for b in p)


def _word(b, o):
    return (b[o] << 8) | b[o + 1]


def _scale(v, exp):
    if exp >= 0:
        return v * 10 ** exp
    d = 10 ** -exp
    # Round half away from zero, the same for both signs.
    return (v + d // 2) // d if v >= 0 else -((-v + d // 2) // d)


def decode(b, o, kind, wo, exp):
    """The register value at b[o:] as an integer in the measurand's unit, or None when
    the meter marks it invalid (float NaN/inf, or the all-ones/max "not available" code)."""
    if kind == _U16 or kind == _I16:
        v = _word(b, o)
        if kind == _U16:
            return None if v == 0xFFFF else _scale(v, exp)
        if v == 0x7FFF:
            return None
        return _scale(v - 0x10000 if v & 0x8000 else v, exp)
    if kind == _U64:
        v = 0
        ones = 0
        for k in range(4):
            w = _word(b, o + 2 * (3 - k if wo == _LO else k))
            ones += w == 0xFFFF
            v = (v << 16) | w
        return None if ones == 4 else _scale(v, exp)
    hi = _word(b, o + 2 if wo == _LO else o)
    lo = _word(b, o if wo == _LO else o + 2)
    if kind == _F32:
        # From the two words, never as one 32-bit integer: on an ESP32 a small int has 31 bits,
        # and anything larger is a heap allocation in the hot path.
        e2 = (hi >> 7) & 0xFF
        if e2 == 0xFF:
            return None  # NaN or infinity: the meter has no valid value
        m = ((hi & 0x7F) << 16) | lo
        if e2:
            m |= 0x800000
            e2 -= 150
        else:
            e2 = -149
        if e2 >= 0:
            v = _scale(m << e2, exp)  # 2**23 register units or more: the value itself is large
        elif exp >= 0:
            # m x 10**exp / 2**s = m x 5**exp / 2**(s - exp), rounded half up. With m split into
            # 12-bit halves no intermediate outgrows a small int unless the result does.
            p5 = 5 ** exp
            t = -e2 - exp
            top = (m >> 12) * p5
            low = (m & 0xFFF) * p5
            if t <= 0:
                v = ((top << 12) + low) << -t
            elif t <= 12:
                v = (top << (12 - t)) + ((low + (1 << (t - 1))) >> t)
            elif t < 40:
                v = (top + (1 << (t - 13)) + (low >> 12)) >> (t - 12)
            else:
                v = 0  # below half a unit: m x 5**exp < 2**38
        else:
            s = -e2
            if s >= 26:
                v = 0  # m / 2**s < 0.25 before the division by 10**-exp
            else:
                den = (10 ** -exp) << s
                v = (m + den // 2) // den
        return -v if hi & 0x8000 else v
    if kind == _E8U24 or kind == _E8I24:
        if hi == 0xFFFF and lo == 0xFFFF:
            return None
        e = hi >> 8
        m = ((hi & 0xFF) << 16) | lo
        if kind == _E8I24 and m & 0x800000:
            m -= 0x1000000
        return _scale(m, exp + (e - 0x100 if e & 0x80 else e))
    if kind == _U32:
        return None if hi == 0xFFFF and lo == 0xFFFF else _scale((hi << 16) | lo, exp)
    if kind == _I32:
        if hi == 0x7FFF and lo == 0xFFFF:
            return None
        if hi & 0x8000:
            # Two's complement by words, so a small negative value stays a small int.
            return -_scale((((hi ^ 0xFFFF) << 16) | (lo ^ 0xFFFF)) + 1, exp)
        return _scale((hi << 16) | lo, exp)
    raise ValueError("register type %d" % kind)
