"""``devdesk eval-scope PATH [--json]``: how well the scope classifier finds
out-of-scope tickets in a labelled JSONL file (precision, recall, F1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from devdesk.triage.scope_classifier import (
    LabelledError,
    evaluate,
    read_labelled,
    trained_model,
)


class Command(BaseCommand):
    help = (
        "Measure the scope classifier (trained on devdesk/triage/data/"
        "scope_train.jsonl) on a labelled JSONL file: one object a line with "
        "subject, body, label (in_scope or out_of_scope) and area."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument(
            "--threshold",
            type=float,
            default=None,
            help="probability that flags (default SCOPE_CLASSIFIER_THRESHOLD)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        threshold = options["threshold"]
        if threshold is None:
            threshold = settings.SCOPE_CLASSIFIER_THRESHOLD
        if not 0 < threshold <= 1:
            raise CommandError("--threshold must be above 0 and at most 1.")
        try:
            examples = read_labelled(options["path"])
        except LabelledError as exc:
            raise CommandError(str(exc)) from exc
        result = evaluate(trained_model(), examples, threshold=threshold)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
            return
        out_of_scope = result.true_positives + result.false_negatives
        self.stdout.write(
            f"{result.examples} tickets, {out_of_scope} out of scope; "
            f"threshold {threshold:g}\n"
            f"precision {result.precision:.3f}  recall {result.recall:.3f}  "
            f"F1 {result.f1:.3f}  accuracy {result.accuracy:.3f}\n"
            f"flagged: {result.true_positives} right, {result.false_positives} wrong; "
            f"missed {result.false_negatives}; area right for "
            f"{result.area_correct} of {result.true_positives}"
        )
        for mistake in result.mistakes:
            self.stdout.write(
                f"  {mistake['label']:<20} p={mistake['probability']:.2f}  "
                f"{mistake['subject']}"
            )
