from rle import decode, encode


def test_encode():
    assert encode("aaabcc") == [("a", 3), ("b", 1), ("c", 2)]
    assert encode("") == []


def test_roundtrip():
    assert decode(encode("xxyzzz")) == "xxyzzz"
