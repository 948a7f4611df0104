from flatten import flatten


def test_flatten():
    assert flatten([1, [2, [3, (4, 5)]], 6]) == [1, 2, 3, 4, 5, 6]
    assert flatten([]) == []
    assert flatten(["ab", ["c"]]) == ["ab", "c"]
