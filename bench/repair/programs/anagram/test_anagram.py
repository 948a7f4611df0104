from anagram import is_anagram


def test_anagrams():
    assert is_anagram("listen", "silent")
    assert is_anagram("Dormitory", "dirty room")
    assert not is_anagram("abc", "abd")
