from gcd import gcd, lcm


def test_gcd():
    assert gcd(12, 18) == 6
    assert gcd(7, 0) == 7
    assert gcd(17, 5) == 1


def test_lcm():
    assert lcm(4, 6) == 12
