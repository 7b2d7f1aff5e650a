"""A missing test requirement skips the test locally and fails it on CI, both with the reason."""

from __future__ import annotations

import pytest

from tests.fixtures.requirements import missing, on_ci


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("TRUE", True), ("false", False), ("", False)],
)
def test_on_ci_reads_the_ci_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("CI", value)
    assert on_ci() is expected


def test_missing_skips_off_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chroma CLI"):
        missing("the chroma CLI is not installed")


def test_missing_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"^CI=true, so not skipped: the chroma CLI"):
        missing("the chroma CLI is not installed")
