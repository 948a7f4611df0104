def to_decimal(bits):
    """Value of a string of 0s and 1s."""
    value = 0
    for bit in bits:
        if bit not in "01":
            raise ValueError(bit)
        value = value * 2 + int(bit)
    return value


def to_binary(n):
    if n == 0:
        return "0"
    digits = []
    while n:
        digits.append(str(n % 2))
        n //= 2
    return "".join(reversed(digits))
