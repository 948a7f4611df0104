def snake_to_camel(name):
    """snake_case -> camelCase."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def camel_to_snake(name):
    """camelCase -> snake_case."""
    out = []
    for ch in name:
        if ch.isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
