"""``scripts/bench --mail``: e-mail intake, measured, side by side with django-helpdesk.

1. **Throughput**: 10 KB messages (real ticket text from the Apache JIRA set, a
   fifth of them replies threaded onto earlier ones) delivered over LMTP to
   ``devdesk mail-receive`` into SQLite and into PostgreSQL, from several client
   connections; and the same messages through the parser alone (parse, classify,
   cut quoted history), without a database.
2. **The real-mail corpus** (``../shared/data/emails``, 362 messages written by
   others) through each application's own intake, on fresh databases: devdesk's
   ``devdesk mail-import`` and django-helpdesk's ``extract_email_metadata`` per
   file (``peer mail-import``). Counted for each: messages per second, unhandled
   errors, bounces that became tickets, and automatic answers sent to automatic
   mail (bounces and auto-replies, as the corpus's manifest labels them).

Times are wall-clock around each command, minus the same command on one message,
so start-up is not counted on either side.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from benchmarks.harness.procs import Process, free_port
from benchmarks.harness.targets import PEER_DIR, ROOT, SECRET, WORK, Database
from devdesk.lib.shared_data import shared_data

CORPUS = shared_data("emails")
JIRA = shared_data("apache-jira-dups-dev/tickets.jsonl")
MESSAGE_BYTES = 10 * 1024
DEVDESK = ROOT / ".venv" / "bin" / "devdesk"
PEER = PEER_DIR / "peer"


# --- the messages ----------------------------------------------------------------


def ten_kb_messages(count: int, seed: int = 7) -> list[bytes]:
    """``count`` messages of about 10 KB each: a ticket's title and text (repeated
    up to the size, as a long log paste would be), from 200 senders at 20 domains;
    every fifth answers an earlier one by In-Reply-To."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    tickets = [json.loads(line) for line in JIRA.open()][: max(count, 100)]
    sent: list[str] = []
    out = []
    for index in range(count):
        ticket = tickets[index % len(tickets)]
        domain = f"customer{index % 20}.example"
        message = EmailMessage()
        message["From"] = f"Developer {index % 200} <dev{index % 200}@{domain}>"
        message["To"] = "support@devdesk.example"
        message["Date"] = format_datetime(datetime.now(UTC))
        message_id = make_msgid(idstring=str(index), domain=domain)
        message["Message-ID"] = message_id
        subject = ticket["title"][:150] or "Question"
        if sent and index % 5 == 4:
            message["In-Reply-To"] = rng.choice(sent)
            subject = f"Re: {subject}"
        message["Subject"] = subject
        text = (ticket["body"] or ticket["title"]) + "\n\n"
        body = (text * (MESSAGE_BYTES // max(len(text), 1) + 1))[:MESSAGE_BYTES]
        message.set_content(body)
        raw = message.as_bytes()
        out.append(raw)
        sent.append(message_id)
    return out


def corpus_files() -> tuple[list[Path], dict[str, dict[str, Any]]]:
    manifest = [json.loads(line) for line in (CORPUS / "manifest.jsonl").open()]
    files = [CORPUS / entry["file"] for entry in manifest]
    return files, {str(CORPUS / entry["file"]): entry for entry in manifest}


def _automatic(entry: dict[str, Any]) -> bool:
    return bool(entry["bounce_or_dsn"] or entry["auto_reply"])


# --- devdesk ---------------------------------------------------------------------


def devdesk_env(db: Database, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "ERROR",
        **(extra or {}),
    }
    env.pop("DATABASE_URL", None)
    if db.vendor == "postgresql":
        env["DATABASE_URL"] = db.url()
        env["DEVDESK_DATA_DIR"] = str(WORK / "mail" / "devdesk-data")
    else:
        env["DEVDESK_DATA_DIR"] = str(db.sqlite_dir)
    return env


def _run(argv: list[str], env: dict[str, str]) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own commands
        argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} … failed:\n{done.stderr[-3000:]}")
    return done.stdout, seconds


def _timed_import(
    db: Database,
    env: dict[str, str],
    *,
    migrate: list[str],
    mail_import: list[str],
    files: list[Path],
    reset: Callable[[], object] = lambda: None,
) -> tuple[str, float]:
    """An application's import over every file, on a fresh database: its output,
    and its seconds minus those of the same import over one file (start-up)."""
    _run(migrate, env)
    _, startup = _run([*mail_import, str(files[0])], env)
    db.recreate()
    reset()
    _run(migrate, env)
    out, seconds = _run([*mail_import, *map(str, files)], env)
    return out, max(seconds - startup, 0.001)


def _fresh(vendor: str, app: str) -> Database:
    db = Database(vendor, f"mail_{app}", 0)
    db.recreate()
    return db


def devdesk_corpus(vendor: str) -> dict[str, Any]:
    """``devdesk mail-import`` over the corpus; automatic answers are sent at once
    (immediate task backend) into a folder, and read back."""
    files, manifest = corpus_files()
    db = _fresh(vendor, "devdesk")
    outbox = WORK / "mail" / "devdesk-outbox"
    shutil.rmtree(outbox, ignore_errors=True)
    outbox.mkdir(parents=True)
    env = devdesk_env(
        db,
        {
            # One .eml file per mail sent, in outbox/mail (the scale-out test's).
            "EMAIL_BACKEND": "devdesk.ops.tests.outbox.EmailBackend",
            "DEVDESK_TEST_OUTBOX": str(outbox),
            "TASKS_BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        },
    )
    out, seconds = _timed_import(
        db,
        env,
        migrate=[str(DEVDESK), "migrate", "-v0"],
        mail_import=[str(DEVDESK), "mail-import", "--json"],
        files=files,
        reset=lambda: shutil.rmtree(outbox / "mail", ignore_errors=True),
    )
    result = json.loads(out)
    ids_of = _message_ids(files)
    answered = _answered_ids(outbox)
    rows = result["messages"]
    automatic = [r for r in rows if _automatic(manifest[r["path"]])]
    errors = [r for r in rows if "Processing failed" in (r["reason"] or "")]
    return _summary(
        "devdesk",
        vendor,
        messages=len(rows),
        seconds=seconds,
        errors=len(errors),
        tickets=sum(r["outcome"] == "ticket" for r in rows),
        bounces_to_tickets=sum(
            r["outcome"] == "ticket" and manifest[r["path"]]["bounce_or_dsn"]
            for r in rows
        ),
        answers=len(list((outbox / "mail").glob("*.eml"))),
        answers_to_automatic=sum(
            1 for r in automatic if ids_of.get(r["path"]) in answered
        ),
        automatic=len(automatic),
        extra={
            "quarantined": result["quarantined"],
            "duplicates": result["duplicates"],
        },
    )


def _message_ids(files: list[Path]) -> dict[str, str]:
    ids = {}
    for path in files:
        message = message_from_bytes(path.read_bytes(), policy=policy.compat32)
        ids[str(path)] = str(message.get("Message-ID", "")).strip().strip("<>")
    return ids


def _answered_ids(outbox: Path) -> set[str]:
    """The Message-IDs that automatic answers in ``outbox`` reply to."""
    answered = set()
    for path in (outbox / "mail").glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.compat32)
        if str(message.get("Auto-Submitted", "")).startswith("auto-replied"):
            answered.add(str(message.get("In-Reply-To", "")).strip().strip("<>"))
    return answered


# --- django-helpdesk -------------------------------------------------------------


def peer_corpus(vendor: str) -> dict[str, Any]:
    files, manifest = corpus_files()
    db = _fresh(vendor, "helpdesk")
    if vendor == "sqlite":
        db.sqlite_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DATABASE_URL": db.url()}
    out, seconds = _timed_import(
        db,
        env,
        migrate=[str(PEER), "migrate"],
        mail_import=[str(PEER), "mail-import"],
        files=files,
    )
    rows = json.loads(out)["messages"]
    automatic = [r for r in rows if _automatic(manifest[r["path"]])]
    errors = [r for r in rows if r["error"] and r["error"] != "ignored"]
    return _summary(
        "django-helpdesk",
        vendor,
        messages=len(rows),
        seconds=seconds,
        errors=len(errors),
        tickets=sum(r["ticket_created"] for r in rows),
        bounces_to_tickets=sum(
            r["ticket_created"] and manifest[r["path"]]["bounce_or_dsn"] for r in rows
        ),
        answers=sum(r["mails_sent"] for r in rows),
        answers_to_automatic=sum(1 for r in automatic if r["mails_sent"]),
        automatic=len(automatic),
        extra={"first_errors": sorted({r["error"][:120] for r in errors})[:5]},
    )


def _summary(
    app: str,
    vendor: str,
    *,
    messages: int,
    seconds: float,
    errors: int,
    tickets: int,
    bounces_to_tickets: int,
    answers: int,
    answers_to_automatic: int,
    automatic: int,
    extra: dict[str, Any],
) -> dict[str, Any]:
    return {
        "app": app,
        "database": vendor,
        "messages": messages,
        "seconds": round(seconds, 2),
        "messages_per_second": round(messages / seconds, 1),
        "unhandled_errors": errors,
        "tickets_created": tickets,
        "automatic_messages": automatic,
        "bounces_turned_into_tickets": bounces_to_tickets,
        "automatic_answers": answers,
        "automatic_answers_to_automatic_mail": answers_to_automatic,
        **extra,
    }


# --- throughput ------------------------------------------------------------------


def parser_alone(messages: list[bytes]) -> dict[str, Any]:
    """Parse, classify and cut quoted history, in a devdesk process, no database."""
    path = WORK / "mail" / "parser-input.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([m.decode("utf-8", "replace") for m in messages]))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "devdesk.settings", "DEBUG": "0"}
    env["SECRET_KEY"] = SECRET
    out, _ = _run(
        [sys.executable, "-m", "benchmarks.harness.mailparse", str(path)], env
    )
    seconds = float(out.strip())
    return {
        "messages": len(messages),
        "seconds": round(seconds, 3),
        "messages_per_second": round(len(messages) / seconds, 1),
    }


def lmtp(vendor: str, messages: list[bytes], connections: int = 4) -> dict[str, Any]:
    """Deliver over LMTP to ``devdesk mail-receive`` on a fresh database: the rate
    of 250 answers (stored) and of processed messages (tickets and replies)."""
    db = _fresh(vendor, "devdesk")
    env = devdesk_env(
        db, {"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
    )
    _run([str(DEVDESK), "migrate", "-v0"], env)
    port = free_port()
    log = WORK / "mail" / f"receiver-{vendor}.log"
    receiver = Process(
        [str(DEVDESK), "mail-receive", "--listen", f"127.0.0.1:{port}"],
        env=env,
        cwd=ROOT,
        log=log,
    )
    try:
        _wait_for_port(port)
        accepted = [0] * connections
        errors: list[str] = []

        def client(index: int) -> None:
            try:
                with smtplib.LMTP("127.0.0.1", port, timeout=60) as session:
                    for raw in messages[index::connections]:
                        refused = session.sendmail(
                            "sender@example.org", ["support@devdesk.example"], raw
                        )
                        accepted[index] += 0 if refused else 1
            except Exception as exc:  # counted, the run goes on
                errors.append(f"{type(exc).__name__}: {exc}")

        started = time.perf_counter()
        threads = [
            threading.Thread(target=client, args=(i,)) for i in range(connections)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        acked = time.perf_counter() - started
        processed = _wait_processed(db, len(messages), started)
    finally:
        receiver.stop()
    return {
        "database": vendor,
        "messages": len(messages),
        "connections": connections,
        "accepted": sum(accepted),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "stored_per_second": round(sum(accepted) / acked, 1),
        "processed_per_second": round(len(messages) / processed, 1),
    }


def _wait_for_port(port: int, seconds: float = 60) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"devdesk mail-receive did not listen on {port}")


def _wait_processed(db: Database, count: int, started: float) -> float:
    """Seconds from the first delivery until every message left ``received``
    (read straight from the database: a Django process per look would take the
    cores the receiver needs)."""
    query = "SELECT count(*) FROM intake_inboundemail WHERE outcome <> 'received'"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if db.vendor == "postgresql":
            import psycopg

            with psycopg.connect(db.url()) as conn:
                row = conn.execute(query).fetchone()
        else:
            import sqlite3

            with sqlite3.connect(db.sqlite_dir / "devdesk.sqlite3", timeout=30) as conn:
                row = conn.execute(query).fetchone()
        if row and int(row[0]) >= count:
            return time.perf_counter() - started
        time.sleep(0.2)
    raise RuntimeError("messages were still unprocessed after 10 minutes")


# --- the run ---------------------------------------------------------------------


def run(
    *, databases: list[str], count: int, peer: bool, log: Any = print
) -> dict[str, Any]:
    messages = ten_kb_messages(count)
    result: dict[str, Any] = {"message_bytes": MESSAGE_BYTES, "throughput": []}
    log(f"mail: parser alone, {count} messages of 10 KB …")
    result["parser"] = parser_alone(messages)
    log(f"  {result['parser']['messages_per_second']} messages/s")
    for vendor in databases:
        log(f"mail: LMTP into {vendor}, {count} messages of 10 KB …")
        measured = lmtp(vendor, messages)
        result["throughput"].append(measured)
        log(
            f"  stored {measured['stored_per_second']}/s, processed "
            f"{measured['processed_per_second']}/s, errors {measured['errors']}"
        )
    result["corpus"] = []
    for vendor in databases:
        apps = [devdesk_corpus] + ([peer_corpus] if peer else [])
        for measure in apps:
            log(f"mail: the real-mail corpus into {vendor} ({measure.__name__}) …")
            summary = measure(vendor)
            result["corpus"].append(summary)
            log(
                f"  {summary['messages_per_second']} messages/s, "
                f"{summary['unhandled_errors']} errors, "
                f"{summary['bounces_turned_into_tickets']} bounces made tickets, "
                f"{summary['automatic_answers_to_automatic_mail']} answers to "
                "automatic mail"
            )
    return result
