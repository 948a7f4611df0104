from matmul import matmul


def test_square():
    assert matmul([[1, 2], [3, 4]], [[5, 6], [7, 8]]) == [[19, 22], [43, 50]]


def test_rect():
    assert matmul([[1, 2, 3]], [[1], [2], [3]]) == [[14]]
