def rotate(items, k):
    """items rotated right by k places."""
    if not items:
        return []
    k %= len(items)
    return items[-k:] + items[:-k]
