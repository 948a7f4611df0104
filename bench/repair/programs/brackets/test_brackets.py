from brackets import balanced


def test_balanced():
    assert balanced("([]{()})")
    assert balanced("")
    assert not balanced("(]")
    assert not balanced("((")
    assert not balanced(")(")
