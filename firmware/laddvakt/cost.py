# Session cost for the foundation's flat energy price, in integers only.
# The price is minor units per kWh and energy is Wh, so cost = Wh * price / 1000,
# rounded once, half up, to the minor unit.


def round_div_half_up(num, den):
    # Non-negative integers only: costs and energies never go below zero.
    return (2 * num + den) // (2 * den)


def flat_energy_cost(energy_wh, price_minor_per_kwh):
    if energy_wh <= 0:
        return 0
    return round_div_half_up(energy_wh * price_minor_per_kwh, 1000)
