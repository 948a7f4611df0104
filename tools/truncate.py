"""Keeping tool output within a budget: head and tail kept, the cut said out loud."""

from __future__ import annotations


def cap_middle(text: str, limit: int, what: str = "characters") -> str:
    """Return `text` if it fits in `limit` characters, else its head and tail with a note of the cut."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n[... {cut} {what} cut from the middle ...]\n{text[len(text) - tail :]}"
