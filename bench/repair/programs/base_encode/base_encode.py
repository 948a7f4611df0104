ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def encode(n, base):
    """n >= 0 written in base 2..36."""
    if not 2 <= base <= len(ALPHABET):
        raise ValueError("bad base")
    if n == 0:
        return "0"
    out = []
    while n > 0:
        n, r = divmod(n, base)
        out.append(ALPHABET[r])
    return "".join(reversed(out))


def decode(text, base):
    return sum(ALPHABET.index(c) * base ** i for i, c in enumerate(reversed(text)))
