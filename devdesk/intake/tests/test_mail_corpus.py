"""Every real-world message in ../shared/data/emails (written by others: mail
parsers' test fixtures and real mail systems) goes in without an unhandled error:
each becomes a ticket or a message, is suppressed (bounce, auto-reply) or a
duplicate, or lands in quarantine with a reason a person can read."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command

from devdesk.intake.models import InboundEmail, Mailbox
from devdesk.lib.shared_data import shared_data

CORPUS = shared_data("emails")
Outcome = InboundEmail.Outcome

pytestmark = pytest.mark.django_db


@pytest.fixture
def manifest() -> list[dict]:
    if not CORPUS.is_dir():
        pytest.fail(
            f"the mail corpus is missing: {CORPUS} (set DEVDESK_SHARED_DATA to the "
            "folder holding emails/)"
        )
    entries = [json.loads(line) for line in (CORPUS / "manifest.jsonl").open()]
    assert len(entries) == 362
    return entries


def test_the_whole_corpus_goes_in_and_nothing_is_left_unexplained(
    manifest, capsys, settings
):
    corpus_files = [CORPUS / entry["file"] for entry in manifest]
    settings.MAIL_ACKNOWLEDGE = False
    Mailbox.objects.create(address="support@skyforge.test", is_default=True)

    call_command("mail_import", *map(str, corpus_files), "--json")

    result = json.loads(capsys.readouterr().out)
    outcomes = Counter(m["outcome"] for m in result["messages"])
    assert result["read"] == len(corpus_files) == InboundEmail.objects.count()
    keys = ("tickets_created", "added_to_tickets", "suppressed", "duplicates")
    keys += ("quarantined", "refused", "pending")
    assert sum(result[key] for key in keys) == result["read"]
    assert outcomes[Outcome.RECEIVED] == 0  # every message was processed
    # no message hit an unhandled error (those are quarantined as "Processing failed")
    failed = [m for m in result["messages"] if "Processing failed" in m["reason"]]
    assert failed == []
    quarantined = [m for m in result["messages"] if m["outcome"] == Outcome.QUARANTINED]
    assert all(m["reason"] for m in quarantined)
    assert len(quarantined) <= 5  # only mail with no sender or no headers at all
    assert result["tickets_created"] >= 180
    # bounces and auto-replies (as the corpus's manifest labels them) open no ticket
    by_path = {m["path"]: m for m in result["messages"]}
    automatic = [
        by_path[str(CORPUS / entry["file"])]
        for entry in manifest
        if entry["bounce_or_dsn"] or entry["auto_reply"]
    ]
    opened = [m for m in automatic if m["outcome"] in {"ticket", "reply"}]
    assert len(automatic) > 100
    # one exception: flanker's long-links.eml, a person's mail from a postmaster@ address
    assert [Path(m["path"]).name for m in opened] == ["long-links.eml"]
    # every ticket's first message has text
    for inbound in InboundEmail.objects.filter(outcome=Outcome.TICKET):
        assert inbound.ticket_message.body.strip()
