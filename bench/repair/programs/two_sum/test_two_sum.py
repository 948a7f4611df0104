from two_sum import two_sum


def test_found():
    assert two_sum([2, 7, 11, 15], 9) == (0, 1)
    assert two_sum([3, 2, 4], 6) == (1, 2)


def test_none():
    assert two_sum([1, 2], 7) is None
