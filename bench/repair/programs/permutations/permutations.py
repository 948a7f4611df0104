def permutations(items):
    """All orderings of items (as lists)."""
    if len(items) <= 1:
        return [list(items)]
    out = []
    for i, item in enumerate(items):
        rest = items[:i] + items[i + 1:]
        for perm in permutations(rest):
            out.append([item] + perm)
    return out
