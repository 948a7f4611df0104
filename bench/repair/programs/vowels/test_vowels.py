from vowels import count_vowels


def test_vowels():
    assert count_vowels("Hello World") == 3
    assert count_vowels("AEIOU xyz") == 5
    assert count_vowels("") == 0
