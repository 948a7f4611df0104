import pytest

from topo_sort import topo_sort


def test_order():
    graph = {"shirt": ["tie"], "tie": ["jacket"], "pants": ["shoes", "jacket"], "jacket": [], "shoes": []}
    order = topo_sort(graph)
    for node, succ in graph.items():
        for s in succ:
            assert order.index(node) < order.index(s)
    assert sorted(order) == sorted(graph)


def test_cycle():
    with pytest.raises(ValueError):
        topo_sort({"a": ["b"], "b": ["a"]})
