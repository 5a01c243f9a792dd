# Flat energy cost: integers only, rounded once, half up, to the minor unit.
from fwtest import run
from laddvakt.billing.session_cost import flat_energy_cost, round_div_half_up, sized


def test_half_up_at_exact_halves():
    assert flat_energy_cost(1, 500) == 1  # 0.5 -> 1
    assert flat_energy_cost(3, 500) == 2  # 1.5 -> 2
    assert flat_energy_cost(5, 100) == 1  # 0.5 -> 1
    assert flat_energy_cost(15, 100) == 2  # 1.5 -> 2
    assert flat_energy_cost(25, 100) == 3  # 2.5 -> 3, not banker's 2


def test_just_below_and_above_half():
    assert flat_energy_cost(1, 499) == 0  # 0.499
    assert flat_energy_cost(1, 501) == 1  # 0.501
    assert flat_energy_cost(3, 499) == 1  # 1.497
    assert flat_energy_cost(1, 1499) == 1  # 1.499
    assert flat_energy_cost(1, 1500) == 2  # 1.5


def test_exact_values():
    assert flat_energy_cost(1000, 250) == 250
    assert flat_energy_cost(7360, 250) == 1840
    assert flat_energy_cost(12345, 250) == 3086  # 3086.25
    assert flat_energy_cost(12346, 250) == 3087  # 3086.5


def test_zero_and_negative_energy():
    assert flat_energy_cost(0, 250) == 0
    assert flat_energy_cost(-1, 250) == 0
    assert flat_energy_cost(-10**9, 10**7) == 0
    assert flat_energy_cost(5000, 0) == 0


def test_large_values_stay_exact():
    c = flat_energy_cost(10**7, 123456)
    assert type(c) is int
    assert c == 1234560000  # 10**7 * 123456 / 1000 exactly
    c = flat_energy_cost(10**7 + 1, 123456)  # + 123.456 -> 123
    assert c == 1234560123
    big = 10**15 + 1
    assert flat_energy_cost(big, 500) == 500 * 10**12 + 1  # ...0.5 -> up
    assert flat_energy_cost(2**40, 10**7) == (2**40 * 10**7 + 500) // 1000


def test_round_div_half_up():
    assert round_div_half_up(0, 7) == 0
    assert round_div_half_up(1, 2) == 1
    assert round_div_half_up(3, 2) == 2
    assert round_div_half_up(5, 2) == 3
    assert round_div_half_up(1, 3) == 0
    assert round_div_half_up(2, 3) == 1
    assert round_div_half_up(10, 5) == 2
    for den in (1, 2, 3, 7, 1000):
        for num in range(0, 3 * den + 1):
            want = num // den + (1 if 2 * (num % den) >= den else 0)
            assert round_div_half_up(num, den) == want, (num, den)


def test_a_sized_dict_starts_empty_and_holds_its_keys():
    # sized(n): room for n keys made at once (the decoded records, the cost's state), no trace
    # of how it was made.
    for n in (0, 1, 5, 29):
        d = sized(n)
        assert d == {} and len(d) == 0 and list(d) == []
        for i in range(n):
            d["k%d" % i] = i
        assert len(d) == n and sorted(d.items()) == sorted(("k%d" % i, i) for i in range(n))
        assert 0 not in d and "k%d" % n not in d


run(globals())
