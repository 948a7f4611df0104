VOWELS = set("aeiou")


def count_vowels(text):
    """Number of vowels in text, any case."""
    return sum(1 for ch in text.lower() if ch in VOWELS)
