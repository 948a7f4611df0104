def knapsack(items, capacity):
    """Best total value of (weight, value) items within capacity (0/1 knapsack)."""
    best = [0] * (capacity + 1)
    for weight, value in items:
        for c in range(capacity, weight - 1, -1):
            best[c] = max(best[c], best[c - weight] + value)
    return best[capacity]
