from base_encode import decode, encode


def test_encode():
    assert encode(255, 16) == "ff"
    assert encode(0, 2) == "0"
    assert encode(35, 36) == "z"


def test_roundtrip():
    for n in (1, 7, 100, 12345):
        assert decode(encode(n, 7), 7) == n
