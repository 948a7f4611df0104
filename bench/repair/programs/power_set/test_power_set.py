from power_set import power_set


def test_power_set():
    result = power_set([1, 2, 3])
    assert len(result) == 8
    assert sorted(map(sorted, result)) == [[], [1], [1, 2], [1, 2, 3], [1, 3], [2], [2, 3], [3]]
