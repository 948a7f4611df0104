import pytest

from binary_convert import to_binary, to_decimal


def test_to_decimal():
    assert to_decimal("1011") == 11
    assert to_decimal("0") == 0


def test_to_binary():
    assert to_binary(11) == "1011"
    assert to_binary(0) == "0"


def test_bad():
    with pytest.raises(ValueError):
        to_decimal("102")
