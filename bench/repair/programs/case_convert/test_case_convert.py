from case_convert import camel_to_snake, snake_to_camel


def test_to_camel():
    assert snake_to_camel("hello_big_world") == "helloBigWorld"
    assert snake_to_camel("x") == "x"


def test_to_snake():
    assert camel_to_snake("helloBigWorld") == "hello_big_world"
