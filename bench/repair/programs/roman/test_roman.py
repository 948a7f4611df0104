from roman import to_roman


def test_roman():
    assert to_roman(1994) == "MCMXCIV"
    assert to_roman(3) == "III"
    assert to_roman(40) == "XL"
    assert to_roman(9) == "IX"
