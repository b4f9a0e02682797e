"""`devdesk serve`: the development server with DEBUG on, gunicorn with DEBUG off.

No server is started here: the test records what the command would have run.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_django.fixtures import Settings as SettingsWrapper

from devdesk.ops.management.commands import serve

Calls = list[tuple[Any, ...]]


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """What the command called instead of starting a server."""
    calls: Calls = []
    monkeypatch.setattr(serve, "call_command", lambda *a, **kw: calls.append((*a, kw)))
    monkeypatch.setattr("os.execv", lambda path, argv: calls.append(("exec", argv)))
    for name in ("PORT", "HOST", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_debug_runs_the_development_server_on_loopback_8000(
    ran: Calls, settings: SettingsWrapper
) -> None:
    settings.DEBUG = True
    call_command("serve")
    assert ran == [("runserver", "127.0.0.1:8000", {"use_reloader": False})]


def test_port_comes_from_the_option_or_the_environment(
    ran: Calls, settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DEBUG = True
    monkeypatch.setenv("PORT", "8765")
    call_command("serve")
    call_command("serve", port=9000, host="::1")
    assert [c[1] for c in ran] == ["127.0.0.1:8765", "[::1]:9000"]


def test_without_debug_collects_static_files_then_runs_gunicorn(
    ran: Calls, settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DEBUG = False
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    call_command("serve", port=8080)
    assert ran[0][0] == "collectstatic"
    argv = ran[1][1]
    assert argv[1:4] == ["-m", "gunicorn", "devdesk.wsgi:application"]
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8080"
    assert argv[argv.index("--workers") + 1] == "3"


@pytest.mark.parametrize(
    ("name", "value"), [("PORT", "eighty"), ("PORT", "70000"), ("WEB_CONCURRENCY", "0")]
)
def test_a_bad_environment_value_is_a_clear_error(
    ran: Calls,
    settings: SettingsWrapper,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
) -> None:
    settings.DEBUG = False
    monkeypatch.setenv(name, value)
    with pytest.raises(CommandError, match=name):
        call_command("serve")
    assert ran == []
