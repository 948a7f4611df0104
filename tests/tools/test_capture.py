"""HeadTail and read_head_tail: bounded whatever the input, and the same text either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.capture import HeadTail, read_head_tail


@pytest.mark.parametrize("size", [0, 5, 100, 101, 150, 199, 200, 10_000])
def test_a_stream_and_a_file_keep_the_same_ends(tmp_path: Path, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    buffer = HeadTail(100)
    for start in range(0, size, 7):  # odd chunks, as pipes deliver them
        buffer.feed(data[start : start + 7])
    (tmp_path / "out").write_bytes(data)
    assert buffer.text() == read_head_tail(tmp_path / "out", 100)
    if size <= 100:
        assert buffer.text() == data.decode("utf-8", "replace")
    else:
        head, _, tail = buffer.text().partition(
            f"\n[... {size - 100} bytes of output cut from the middle ...]\n"
        )
        assert head == data[:50].decode("utf-8", "replace") and tail == data[-50:].decode("utf-8", "replace")


def test_memory_stays_bounded() -> None:
    buffer = HeadTail(1000)
    for _ in range(10_000):
        buffer.feed(b"y" * 4096)
    assert buffer.total == 40_960_000
    assert len(buffer._head) <= 1000 and len(buffer._tail) <= 2000 + 4096
