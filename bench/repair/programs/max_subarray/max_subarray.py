def max_subarray(nums):
    """Largest sum of a non-empty contiguous subarray (Kadane)."""
    best = cur = nums[0]
    for x in nums[1:]:
        cur = max(x, cur + x)
        best = max(best, cur)
    return best
