from caesar import caesar


def test_shift():
    assert caesar("abc", 1) == "bcd"
    assert caesar("xyz", 3) == "abc"
    assert caesar("Hello, World!", 13) == "Uryyb, Jbeyq!"


def test_roundtrip():
    assert caesar(caesar("Python", 5), -5) == "Python"
