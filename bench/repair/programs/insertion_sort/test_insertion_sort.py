from insertion_sort import insertion_sort


def test_sort():
    assert insertion_sort([4, 3, 1, 2]) == [1, 2, 3, 4]
    assert insertion_sort([2, 1]) == [1, 2]
    assert insertion_sort([]) == []
