import pytest

from clamp import clamp


def test_clamp():
    assert clamp(5, 0, 10) == 5
    assert clamp(-3, 0, 10) == 0
    assert clamp(42, 0, 10) == 10


def test_bad_range():
    with pytest.raises(ValueError):
        clamp(1, 5, 2)
