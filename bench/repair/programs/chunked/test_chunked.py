import pytest

from chunked import chunk


def test_chunk():
    assert chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert chunk([], 3) == []
    assert chunk([1, 2], 5) == [[1, 2]]


def test_bad_size():
    with pytest.raises(ValueError):
        chunk([1], 0)
