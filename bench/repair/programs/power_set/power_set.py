def power_set(items):
    """All subsets of items, as lists, smallest first within each prefix."""
    subsets = [[]]
    for item in items:
        subsets += [s + [item] for s in subsets]
    return subsets
