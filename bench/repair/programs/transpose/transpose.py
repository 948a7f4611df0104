def transpose(matrix):
    """Rows become columns."""
    if not matrix:
        return []
    return [[row[j] for row in matrix] for j in range(len(matrix[0]))]
