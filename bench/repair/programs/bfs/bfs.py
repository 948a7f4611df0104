from collections import deque


def bfs_order(graph, start):
    """Nodes in breadth-first order from start; neighbours visited in listed order."""
    seen = {start}
    order = []
    todo = deque([start])
    while todo:
        node = todo.popleft()
        order.append(node)
        for nxt in graph.get(node, []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return order
