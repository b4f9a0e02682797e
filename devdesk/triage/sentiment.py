"""How angry a message reads: VADER's lexicon score, pushed down by shouting.

VADER (Hutto & Gilbert, 2014) already counts capitals and exclamation marks
within a sentence, but an angry e-mail shouts across whole lines ("THIS IS THE
FOURTH TIME I ASK"), which its per-word boost underrates. Two heuristics add to
it, only ever downwards:

1. the share of capital letters among letters, past 30 % of at least 20 letters;
2. runs of ``!!``, ``??`` or ``?!`` (three or more such runs).

Code, stack traces and log lines are cut first, and words that describe a
program rather than a mood (error, fail, crash, bug, problem, killed, …) are taken
out of VADER's lexicon: in developer support "the request fails with an error"
is a calm report, and VADER alone scored it -0.88.
"""

from __future__ import annotations

import re
from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

FENCED_CODE = re.compile(r"```.*?(```|$)", re.DOTALL)
INDENTED_OR_LOG = re.compile(
    r"^(?:(?: {4}|\t).*|.*\b(?:Traceback|Exception|ERROR|WARN|FATAL|at \w+\.)\b.*)$",
    re.MULTILINE,
)
SHOUTED_PUNCTUATION = re.compile(r"[!?]{2,}")
CAPS_FLOOR = 0.3
CAPS_MIN_LETTERS = 20


# Words VADER reads as negative that are how developers describe software.
TECHNICAL_WORDS = frozenset(
    [
        "abort",
        "aborted",
        "broken",
        "bug",
        "bugs",
        "broke",
        "block",
        "blocked",
        "blocking",
        "crash",
        "crashed",
        "crashes",
        "crashing",
        "critical",
        "dead",
        "deadlock",
        "denied",
        "deny",
        "destroy",
        "destroyed",
        "error",
        "errors",
        "fail",
        "failed",
        "failing",
        "fails",
        "failure",
        "failures",
        "fatal",
        "fault",
        "faulty",
        "freeze",
        "frozen",
        "hang",
        "hanging",
        "hangs",
        "invalid",
        "issue",
        "issues",
        "kill",
        "killed",
        "kills",
        "leak",
        "leaking",
        "loss",
        "lost",
        "missing",
        "panic",
        "problem",
        "problems",
        "reject",
        "rejected",
        "rejects",
        "stuck",
        "throw",
        "throws",
        "timeout",
        "trouble",
        "urgent",
        "warning",
        "wrong",
    ]
)


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    analyzer = SentimentIntensityAnalyzer()
    for word in TECHNICAL_WORDS:
        analyzer.lexicon.pop(word, None)
    return analyzer


def prose(text: str) -> str:
    """The text without code blocks, indented lines and log lines."""
    return INDENTED_OR_LOG.sub("", FENCED_CODE.sub("", text))


def caps_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if len(letters) < CAPS_MIN_LETTERS:
        return 0.0
    return sum(c.isupper() for c in letters) / len(letters)


# How much of a message is read: its opening says how it is written, and VADER's
# time grows with the length (a 10 KB log paste would cost 20 ms or more).
SCORE_MAX_CHARS = 1500


def score(text: str) -> float:
    """The message's sentiment in [-1, 1]: below about -0.5 reads as angry, above
    0.05 as calm, read from its first ``SCORE_MAX_CHARS`` of prose. Deterministic and
    offline; under a millisecond per message."""
    words = prose(text)[:SCORE_MAX_CHARS]
    if not words.strip():
        return 0.0
    value = float(_analyzer().polarity_scores(words)["compound"])
    shouting = 0.0
    ratio = caps_ratio(words)
    if ratio > CAPS_FLOOR:
        shouting += min(0.4, (ratio - CAPS_FLOOR))
    runs = len(SHOUTED_PUNCTUATION.findall(words))
    if runs >= 3:
        shouting += min(0.3, 0.1 * runs)
    return max(-1.0, min(1.0, value - shouting))
