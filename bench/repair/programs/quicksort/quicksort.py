def quicksort(items):
    """A sorted copy of items."""
    if len(items) <= 1:
        return list(items)
    pivot = items[0]
    smaller = [x for x in items[1:] if x < pivot]
    larger = [x for x in items[1:] if x >= pivot]
    return quicksort(smaller) + [pivot] + quicksort(larger)
