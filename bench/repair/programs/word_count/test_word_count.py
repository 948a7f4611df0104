from word_count import word_count


def test_counts():
    assert word_count("The cat and the hat.") == {"the": 2, "cat": 1, "and": 1, "hat": 1}
    assert word_count("") == {}
