import pytest

from devdesk.lib.ids import INTEGER_MAX, as_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", 12), ("0", None), ("-3", None), ("²", None), ("1e3", None), ("", None),
     (str(INTEGER_MAX - 1), INTEGER_MAX - 1), (str(INTEGER_MAX), None)],
)  # fmt: skip
def test_as_id(text, expected):
    assert as_id(text, below=INTEGER_MAX) == expected
