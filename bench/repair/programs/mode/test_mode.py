from mode import mode


def test_mode():
    assert mode([1, 2, 2, 3]) == 2
    assert mode([4, 4, 1, 1]) == 1
    assert mode([5]) == 5
