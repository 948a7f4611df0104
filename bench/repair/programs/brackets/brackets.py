PAIRS = {")": "(", "]": "[", "}": "{"}


def balanced(text):
    """Whether every bracket in text is closed in the right order."""
    stack = []
    for ch in text:
        if ch in "([{":
            stack.append(ch)
        elif ch in PAIRS:
            if not stack or stack.pop() != PAIRS[ch]:
                return False
    return not stack
