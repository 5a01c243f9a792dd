# The foundation's tariff: one flat energy price. The full engine (time of use,
# dynamic prices, fees, VAT) replaces this behind the same two calls.
from .cost import flat_energy_cost


class FlatTariff:
    def __init__(self, currency, minor_unit, price_minor_per_kwh):
        self.currency = currency
        self.minor_unit = minor_unit
        self.price_minor_per_kwh = price_minor_per_kwh

    @classmethod
    def from_config(cls, cfg):
        return cls(cfg["currency"], cfg["currency_minor_unit"], cfg["price_minor_per_kwh"])

    def session_cost(self, session):
        return flat_energy_cost(session.energy_wh, self.price_minor_per_kwh)
