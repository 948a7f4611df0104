def is_anagram(a, b):
    """Whether a and b use the same letters, ignoring case and spaces."""
    def norm(s):
        return sorted(s.replace(" ", "").lower())
    return norm(a) == norm(b)
