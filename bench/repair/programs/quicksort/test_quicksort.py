from quicksort import quicksort


def test_sorts():
    assert quicksort([3, 6, 1, 8, 1, 2]) == [1, 1, 2, 3, 6, 8]
    assert quicksort([2, 2, 2]) == [2, 2, 2]
    assert quicksort([]) == []
