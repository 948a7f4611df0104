from merge_sort import merge_sort


def test_sorts():
    assert merge_sort([5, 2, 9, 1, 5, 6]) == [1, 2, 5, 5, 6, 9]
    assert merge_sort([]) == []
    assert merge_sort([3, 2, 1]) == [1, 2, 3]
