"""The write token: required, constant-time compared, writes disabled without one."""

from __future__ import annotations

import pytest

from claimgraph.auth import Forbidden, Unauthorized, check_write_token


def test_correct_token_passes() -> None:
    check_write_token("s3cret", "Bearer s3cret")
    check_write_token("s3cret", "bearer s3cret ")


@pytest.mark.parametrize(
    ("expected", "header", "error"),
    [
        (None, "Bearer x", Forbidden),
        ("", "Bearer x", Forbidden),
        ("s3cret", None, Unauthorized),
        ("s3cret", "Basic czNjcmV0", Unauthorized),
        ("s3cret", "Bearer ", Unauthorized),
        ("s3cret", "Bearer wrong", Forbidden),
        ("s3cret", "Bearer s3cret-and-more", Forbidden),
    ],
)
def test_refused(expected: str | None, header: str | None, error: type[Exception]) -> None:
    with pytest.raises(error):
        check_write_token(expected, header)
