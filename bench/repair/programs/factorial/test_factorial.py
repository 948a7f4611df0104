import pytest

from factorial import factorial


def test_values():
    assert factorial(0) == 1
    assert factorial(5) == 120
    assert factorial(10) == 3628800


def test_negative():
    with pytest.raises(ValueError):
        factorial(-1)
