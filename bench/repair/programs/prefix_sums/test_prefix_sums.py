from prefix_sums import prefix_sums, range_sum


def test_sums():
    s = prefix_sums([3, 1, 4, 1, 5])
    assert s == [0, 3, 4, 8, 9, 14]
    assert range_sum(s, 1, 4) == 6
    assert range_sum(s, 0, 5) == 14
