"""deploy/ stays honest: its commands exist and its variables are ones devdesk reads.

Each check is a function over the file's text, so the tests below also show that it
fails on a made-up subcommand, option or variable.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

from devdesk.cli import ALIASES

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
SOURCES = [
    ROOT / "devdesk/settings.py",
    ROOT / "devdesk/ops/management/commands/serve.py",
]
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def command_problem(argv: list[str]) -> str | None:
    """Why ``devdesk <argv>`` would not run, or None: the subcommand (through the
    aliases of devdesk/cli.py) must exist and accept the options given."""
    if not argv:
        return "no subcommand"
    name = ALIASES.get(argv[0], argv[0].replace("-", "_"))
    commands = get_commands()
    if name not in commands:
        return f"no devdesk subcommand {argv[0]!r}"
    parser = load_command_class(commands[name], name).create_parser("devdesk", name)
    # Options are looked up rather than parsed: parsing also validates defaults that
    # depend on the test settings (db_worker's --backend).
    known = parser._option_string_actions
    for arg in argv[1:]:
        if arg.startswith("-") and arg.partition("=")[0] not in known:
            return f"devdesk {argv[0]}: no option {arg}"
    return None


def procfile_problems(text: str) -> list[str]:
    problems = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, _, command = line.partition(":")
        argv = shlex.split(command)
        if not argv or argv[0] != "devdesk":
            problems.append(f"{kind}: does not run devdesk: {command.strip()!r}")
        elif problem := command_problem(argv[1:]):
            problems.append(f"{kind}: {problem}")
    return problems


def variables_read() -> str:
    return "\n".join(path.read_text() for path in SOURCES)


def env_problems(text: str, source: str) -> list[str]:
    """Variables (set or commented out as an example) that devdesk never reads."""
    problems = []
    for match in re.finditer(r"^#?([A-Z][A-Z0-9_]*)=", text, re.MULTILINE):
        name = match.group(1)
        read = f'"{name}"' in source or (
            # SECRET_KEY_FILE, EMAIL_HOST_PASSWORD_FILE: env_str("NAME") reads NAME_FILE
            name.endswith("_FILE")
            and f'env_str("{name.removesuffix("_FILE")}"' in source
        )
        if not read:
            problems.append(f"{name} is not read by devdesk")
    return problems


def unit_problems(text: str) -> list[str]:
    problems = []
    commands = re.findall(r"^Exec\w+=(.+)$", text, re.MULTILINE)
    if not commands:
        problems.append("no ExecStart=")
    for command in commands:
        argv = shlex.split(command.lstrip("-+!@:"))
        if argv[0] != "/opt/devdesk/.venv/bin/devdesk":
            problems.append(f"does not run /opt/devdesk/.venv/bin/devdesk: {command!r}")
        elif problem := command_problem(argv[1:]):
            problems.append(problem)
    if "EnvironmentFile=/etc/devdesk/env" not in text:
        problems.append("no EnvironmentFile=/etc/devdesk/env")
    return problems


def test_procfile_process_types_run_existing_devdesk_subcommands() -> None:
    text = (DEPLOY / "Procfile").read_text()
    assert procfile_problems(text) == []
    kinds = [line.partition(":")[0] for line in text.splitlines() if line[:1].isalpha()]
    assert kinds == ["web", "worker", "scheduler", "mail"]


def test_env_example_sets_only_variables_devdesk_reads() -> None:
    text = (DEPLOY / "env.example").read_text()
    assert env_problems(text, variables_read()) == []
    for name in (
        "DEBUG",
        "SECRET_KEY_FILE",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "PORT",
        "TASKS_BACKEND",
        "TASKS_REDIS_URL",
        "STORAGE_BACKEND",
        "AWS_STORAGE_BUCKET_NAME",
    ):
        assert re.search(rf"^#?{name}=", text, re.MULTILINE), name


@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_systemd_units_run_existing_devdesk_subcommands(unit: Path) -> None:
    assert unit_problems(unit.read_text()) == []


def test_every_unit_is_there() -> None:
    assert [unit.name for unit in UNITS] == [
        "devdesk-mail.service",
        "devdesk-migrate.service",
        "devdesk-scheduler.service",
        "devdesk-web.service",
        "devdesk-worker.service",
    ]


def test_the_checks_fail_on_made_up_commands_options_and_variables() -> None:
    assert procfile_problems("web: devdesk serve\nmail: devdesk mail-receiver\n") == [
        "mail: no devdesk subcommand 'mail-receiver'"
    ]
    assert procfile_problems("worker: devdesk worker --no-such-option\n") != []
    assert procfile_problems("web: gunicorn devdesk.wsgi\n") != []
    source = 'os.environ.get("DEBUG")\nenv_str("SECRET_KEY", x)\n'
    assert env_problems("DEBUG=false\nSECRET_KEY_FILE=/s\n", source) == []
    assert env_problems(
        "DEBUG=false\n#REDIS_URL=redis://x\nDEBUG_FILE=/x\n", source
    ) == [
        "REDIS_URL is not read by devdesk",
        "DEBUG_FILE is not read by devdesk",
    ]
    unit = "EnvironmentFile=/etc/devdesk/env\nExecStart=/opt/devdesk/.venv/bin/devdesk {}\n"
    assert unit_problems(unit.format("worker --no-reload")) == []
    assert unit_problems(unit.format("janitor")) == ["no devdesk subcommand 'janitor'"]
