import pytest

from stack import Stack


def test_lifo():
    s = Stack()
    s.push(1)
    s.push(2)
    assert s.peek() == 2
    assert s.pop() == 2
    assert s.pop() == 1
    assert len(s) == 0


def test_empty():
    with pytest.raises(IndexError):
        Stack().pop()
