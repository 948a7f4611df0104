from dijkstra import shortest_paths


def test_paths():
    graph = {"a": [("b", 1), ("c", 4)], "b": [("c", 2), ("d", 5)], "c": [("d", 1)]}
    assert shortest_paths(graph, "a") == {"a": 0, "b": 1, "c": 3, "d": 4}


def test_isolated():
    assert shortest_paths({}, "x") == {"x": 0}
