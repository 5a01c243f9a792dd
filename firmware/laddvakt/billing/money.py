# Session cost arithmetic in integers only. Amounts accumulate exactly in "cost units"
# (1/60000 of a price unit, so Wh x price/kWh and ms x price/min are both whole), and
# are rounded once, at the end of the session, half up, to the minor unit
# (docs/tariffs.md, Rounding).
from micropython import const

WH_FACTOR = const(60)  # cost units per (Wh x price unit per kWh): 60000 / 1000
MS_FACTOR = const(1)  # cost units per (ms x price unit per minute): 60000 / 60000
FEE_FACTOR = const(60000)  # cost units per price unit
_BP = const(10000)  # basis points in 100 %
UNITS_PER_MINOR = const(600000000)  # FEE_FACTOR x PRICE_SCALE (10000)


def round_div_half_up(num, den):
    # Non-negative integers only: costs and energies never go below zero.
    return (2 * num + den) // (2 * den)


def flat_energy_cost(energy_wh, price_minor_per_kwh):
    if energy_wh <= 0:
        return 0
    return round_div_half_up(energy_wh * price_minor_per_kwh, 1000)


def totals(net_units, vat_bp, min_minor, max_minor):
    """(total, vat, net, adj) in minor units from the exact net in cost units.

    VAT is added to the exact net; min/max bound that gross (0 = no bound); the gross
    is rounded once, half up. The VAT shown is the rounded VAT part of that gross, and
    net = total - vat, so the receipt adds up. adj is "min", "max" or None."""
    den = UNITS_PER_MINOR * _BP
    g = net_units * (_BP + vat_bp)
    if g < 0:
        g = 0  # negative spot prices lower a session's cost, never below nothing
    adj = None
    if min_minor and g < min_minor * den:
        g = min_minor * den
        adj = "min"
    if max_minor and g > max_minor * den:
        g = max_minor * den
        adj = "max"
    total = round_div_half_up(g, den)
    vat = round_div_half_up(g * vat_bp, den * (_BP + vat_bp))
    return total, vat, total - vat, adj
