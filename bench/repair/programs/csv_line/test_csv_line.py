from csv_line import parse_csv_line


def test_plain():
    assert parse_csv_line("a,b,,c") == ["a", "b", "", "c"]


def test_quoted():
    assert parse_csv_line('x,"y,z",w') == ["x", "y,z", "w"]
    assert parse_csv_line('"say ""hi"""') == ['say "hi"']
