from temperature import c_to_f, f_to_c


def test_conversions():
    assert c_to_f(100) == 212
    assert c_to_f(-40) == -40
    assert f_to_c(32) == 0
    assert f_to_c(212) == 100
