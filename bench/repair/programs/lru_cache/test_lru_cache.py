from lru_cache import LRUCache


def test_evicts_least_recent():
    c = LRUCache(2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1
    c.put("c", 3)
    assert c.get("b") is None
    assert c.get("a") == 1
    assert c.get("c") == 3


def test_capacity():
    c = LRUCache(1)
    c.put(1, 1)
    c.put(2, 2)
    assert len(c.data) == 1
