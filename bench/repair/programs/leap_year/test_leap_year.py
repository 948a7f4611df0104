from leap_year import days_in_month, is_leap


def test_leap():
    assert is_leap(2024)
    assert not is_leap(1900)
    assert is_leap(2000)
    assert not is_leap(2023)


def test_days():
    assert days_in_month(2024, 2) == 29
    assert days_in_month(2023, 4) == 30
