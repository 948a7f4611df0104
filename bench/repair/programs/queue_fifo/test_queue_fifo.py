from queue_fifo import Queue


def test_fifo():
    q = Queue()
    for i in range(4):
        q.enqueue(i)
    assert q.dequeue() == 0
    q.enqueue(9)
    assert [q.dequeue() for _ in range(4)] == [1, 2, 3, 9]
    assert len(q) == 0
