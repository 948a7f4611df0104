def two_sum(nums, target):
    """Indices (i, j), i < j, with nums[i] + nums[j] == target, or None."""
    seen = {}
    for j, x in enumerate(nums):
        if target - x in seen:
            return seen[target - x], j
        seen[x] = j
    return None
