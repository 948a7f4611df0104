from bfs import bfs_order


def test_order():
    graph = {1: [2, 3], 2: [4], 3: [4, 5], 4: [1], 5: []}
    assert bfs_order(graph, 1) == [1, 2, 3, 4, 5]


def test_single():
    assert bfs_order({}, "a") == ["a"]
