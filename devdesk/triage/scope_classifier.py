"""A small multinomial naive-Bayes text classifier for ticket scope, written out
here rather than pulled from a library: a few hundred labelled tickets, one pass
to count words, no dependency, and every number it uses can be printed.

Two models: one says in or out of scope (all not-supported areas pooled, which
measured better than one class per area: each area alone has few examples); a
second, trained on the out-of-scope examples only, names the likeliest area
(``other-hosting``, ``own-server``, ``unsold-product``, ``general-programming``).
A ticket is out of scope when the first's probability reaches
``SCOPE_CLASSIFIER_THRESHOLD`` (0.4: chosen by 5-fold cross-validation on the
training file, where 0.3-0.5 tie on F1; never tuned on the test file).

Features are lower-cased words and word pairs of subject and body (the subject
counted twice: it says what the ticket is about), with Laplace smoothing.
The model trains from ``devdesk/triage/data/scope_train.jsonl`` on first use;
``devdesk eval-scope`` measures it on the held-out ``scope_test.jsonl``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
TRAIN_FILE = DATA_DIR / "scope_train.jsonl"
TEST_FILE = DATA_DIR / "scope_test.jsonl"
IN_SCOPE = "in_scope"
WORD = re.compile(r"[a-z][a-z0-9+#.\-]*[a-z0-9+#]|[a-z]")
# Words that say nothing about what a ticket is about.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "have",
        "hi",
        "hello",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "so",
        "that",
        "the",
        "their",
        "there",
        "this",
        "to",
        "us",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "with",
        "would",
        "you",
        "your",
        "thanks",
        "thank",
        "regards",
    ]
)


class LabelledError(ValueError):
    """A labelled file that cannot be read: the line and what is wrong."""


@dataclass(frozen=True)
class Example:
    subject: str
    body: str
    label: str  # in_scope or an area slug

    @property
    def is_out_of_scope(self) -> bool:
        return self.label != IN_SCOPE


def features(subject: str, body: str) -> list[str]:
    """Words and adjacent word pairs, the subject's twice."""
    found: list[str] = []
    for text, times in ((subject, 2), (body, 1)):
        words = [w for w in WORD.findall(text.lower()) if w not in STOP_WORDS]
        grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
        found.extend(grams * times)
    return found


def read_labelled(path: Path) -> list[Example]:
    """Examples from a JSONL file: one object a line with ``subject``, ``body``
    and ``label`` (``in_scope``, ``out_of_scope``) and, for out-of-scope lines,
    ``area``. Raises :class:`LabelledError` naming the first bad line."""
    examples: list[Example] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelledError(f"{path}: cannot read it ({exc})") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelledError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise LabelledError(f"{path}:{number}: not a JSON object")
        label = row.get("label")
        if label not in {IN_SCOPE, "out_of_scope"}:
            raise LabelledError(
                f"{path}:{number}: label must be in_scope or out_of_scope"
            )
        subject, body = row.get("subject", ""), row.get("body", "")
        if not isinstance(subject, str) or not isinstance(body, str):
            raise LabelledError(f"{path}:{number}: subject and body must be text")
        if label == "out_of_scope":
            label = str(row.get("area") or "out_of_scope")
        examples.append(Example(subject=subject, body=body, label=label))
    if not examples:
        raise LabelledError(f"{path}: no examples")
    return examples


@dataclass
class NaiveBayes:
    """Multinomial naive Bayes over :func:`features`."""

    class_counts: Counter[str] = field(default_factory=Counter)
    word_counts: dict[str, Counter[str]] = field(default_factory=dict)
    totals: Counter[str] = field(default_factory=Counter)
    vocabulary: set[str] = field(default_factory=set)

    @classmethod
    def fit(cls, examples: Iterable[Example]) -> NaiveBayes:
        model = cls()
        for example in examples:
            model.class_counts[example.label] += 1
            grams = features(example.subject, example.body)
            model.word_counts.setdefault(example.label, Counter()).update(grams)
            model.totals[example.label] += len(grams)
            model.vocabulary.update(grams)
        return model

    def probabilities(self, subject: str, body: str) -> dict[str, float]:
        """Each label's probability for this text (they sum to 1)."""
        grams = [g for g in features(subject, body) if g in self.vocabulary]
        documents = sum(self.class_counts.values())
        size = len(self.vocabulary)
        logs: dict[str, float] = {}
        for label, count in self.class_counts.items():
            words, total = self.word_counts[label], self.totals[label]
            logs[label] = math.log(count / documents) + sum(
                math.log((words[g] + 1) / (total + size)) for g in grams
            )
        top = max(logs.values())
        exps = {label: math.exp(value - top) for label, value in logs.items()}
        norm = sum(exps.values())
        return {label: value / norm for label, value in exps.items()}


@dataclass(frozen=True)
class Verdict:
    probability: float  # that the ticket is out of scope
    area: str  # the likeliest not-supported area's slug

    def is_out_of_scope(self, threshold: float) -> bool:
        return self.probability >= threshold


OUT = "out_of_scope"


@dataclass(frozen=True)
class ScopeModel:
    scope: NaiveBayes  # in_scope against out_of_scope
    areas: NaiveBayes  # which not-supported area, among out-of-scope examples

    @classmethod
    def fit(cls, examples: Iterable[Example]) -> ScopeModel:
        examples = list(examples)
        pooled = [
            Example(e.subject, e.body, OUT if e.is_out_of_scope else IN_SCOPE)
            for e in examples
        ]
        outside = [e for e in examples if e.is_out_of_scope]
        return cls(scope=NaiveBayes.fit(pooled), areas=NaiveBayes.fit(outside))


def classify(model: ScopeModel, subject: str, body: str) -> Verdict:
    probability = model.scope.probabilities(subject, body).get(OUT, 0.0)
    areas = model.areas.probabilities(subject, body) if model.areas.vocabulary else {}
    area = max(areas, key=areas.__getitem__) if areas else ""
    return Verdict(probability=probability, area=area)


@cache
def trained_model() -> ScopeModel:
    """The models trained on the shipped training file (once per process)."""
    return ScopeModel.fit(read_labelled(TRAIN_FILE))


@dataclass(frozen=True)
class Evaluation:
    examples: int
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    area_correct: int  # out-of-scope examples found with the right area
    threshold: float
    mistakes: list[dict[str, object]]

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 0.0

    @property
    def recall(self) -> float:
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def accuracy(self) -> float:
        return (self.true_positives + self.true_negatives) / self.examples

    def as_dict(self) -> dict[str, object]:
        return {
            "examples": self.examples,
            "threshold": self.threshold,
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "f1": round(self.f1, 3),
            "accuracy": round(self.accuracy, 3),
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "true_negatives": self.true_negatives,
            "area_correct": self.area_correct,
            "mistakes": self.mistakes,
        }


def evaluate(
    model: ScopeModel, examples: Iterable[Example], *, threshold: float
) -> Evaluation:
    """Precision, recall and F1 of "out of scope" on labelled examples."""
    tp = fp = fn = tn = area_correct = total = 0
    mistakes: list[dict[str, object]] = []
    for example in examples:
        total += 1
        verdict = classify(model, example.subject, example.body)
        flagged = verdict.is_out_of_scope(threshold)
        if flagged and example.is_out_of_scope:
            tp += 1
            area_correct += verdict.area == example.label
        elif flagged:
            fp += 1
        elif example.is_out_of_scope:
            fn += 1
        else:
            tn += 1
        if flagged != example.is_out_of_scope:
            mistakes.append(
                {
                    "subject": example.subject,
                    "label": example.label,
                    "probability": round(verdict.probability, 3),
                }
            )
    return Evaluation(total, tp, fp, fn, tn, area_correct, threshold, mistakes)
