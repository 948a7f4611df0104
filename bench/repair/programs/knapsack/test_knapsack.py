from knapsack import knapsack


def test_knapsack():
    assert knapsack([(1, 1), (3, 4), (4, 5), (5, 7)], 7) == 9
    assert knapsack([(2, 3)], 1) == 0
    assert knapsack([(1, 10)], 3) == 10
