def topo_sort(graph):
    """Nodes of a DAG {node: [successors]} so that every edge points forward (DFS based)."""
    order = []
    state = {}

    def visit(node):
        if state.get(node) == "done":
            return
        if state.get(node) == "active":
            raise ValueError("cycle")
        state[node] = "active"
        for nxt in graph.get(node, []):
            visit(nxt)
        state[node] = "done"
        order.append(node)

    for node in graph:
        visit(node)
    return order[::-1]
