def prefix_sums(values):
    """sums[i] = values[0] + ... + values[i - 1]; len(values) + 1 entries."""
    sums = [0]
    for v in values:
        sums.append(sums[-1] + v)
    return sums


def range_sum(sums, i, j):
    """Sum of values[i:j]."""
    return sums[j] - sums[i]
