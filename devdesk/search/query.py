"""What a person typed in a search box, parsed once and written out for each backend.

The syntax is the one web search engines taught everybody (and PostgreSQL's
``websearch_to_tsquery`` implements): words must all appear, ``"quoted words"`` must
appear together in that order, ``OR`` between two words accepts either, and a leading
``-`` excludes a word or a quoted phrase. Nothing else is special: ``*``, ``(``, ``)``,
``:``, ``^``, ``NEAR`` or a stray quote are text, so no input can raise an error.

Parsing here rather than in each database keeps the two backends answering the same
question. Each backend then splits words the way its own index does (see
:meth:`Term.words`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

# Beyond these, extra words are ignored: each one is another index lookup.
MAX_TERMS = 16
MAX_TERM_CHARS = 100

# PostgreSQL's English stop words (tsearch_data/english.stop). PostgreSQL leaves them
# out of its index; SQLite keeps them, so a lone stop word is dropped from every
# query, for the same answer on both ("the timeout" means "timeout").
_STOP_WORDS = """
    i me my myself we our ours ourselves you your yours yourself yourselves he
    him his himself she her hers herself it its itself they them their theirs
    themselves what which who whom this that these those am is are was were be
    been being have has had having do does did doing a an the and but if or
    because as until while of at by for with about against between into through
    during before after above below to from up down in out on off over under
    again further then once here there when where why how all any both each few
    more most other some such no nor not only own same so than too very s t can
    will just don should now
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

# What both indexes call a word: letters and digits. Underscores, dots, dashes and
# every other mark separate words (SQLite's unicode61 tokenizer does the same).
_WORD_RE = re.compile(r"[^\W_]+")
# A quoted phrase (the closing quote may be missing) or a run of other characters.
_TOKEN_RE = re.compile(r'(-?)"([^"]*)"?|(\S+?)(?=\s|"|$)')


@dataclass(frozen=True)
class Term:
    """One word or quoted phrase, as typed (minus quotes)."""

    text: str

    def words(self) -> list[str]:
        return _WORD_RE.findall(self.text)


@dataclass(frozen=True)
class SearchQuery:
    """Every group of ``required`` must match (a group matches when any of its terms
    does) and no term of ``excluded`` may."""

    required: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when nothing positive is asked for; such a query matches nothing
        (a query of exclusions alone would have to read the whole index)."""
        return not self.required


def parse(text: str) -> SearchQuery:
    """Parse search-box input; never raises, whatever the input."""
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    join_next = False
    count = 0
    for negated, term in _terms(text):
        if term is None:  # OR
            join_next = bool(groups)
            continue
        if count >= MAX_TERMS:
            break
        count += 1
        if negated:
            excluded.append(term)
            join_next = False
        elif join_next:
            groups[-1].append(term)
            join_next = False
        else:
            groups.append([term])
    return SearchQuery(tuple(tuple(g) for g in groups), tuple(excluded))


def _printable(text: str) -> str:
    # Control and format characters, lone surrogates and unassigned code points are
    # never part of a word, and NUL or a surrogate would not even reach the database.
    return "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)


def _terms(text: str) -> Iterator[tuple[bool, Term | None]]:
    """(negated, term) pairs in order; ``None`` for the word OR."""
    for match in _TOKEN_RE.finditer(_printable(text)):
        dash, quoted, bare = match.groups()
        if bare is not None:
            if bare.upper() == "OR":
                yield False, None
                continue
            negated = bare.startswith("-")
            raw = bare.lstrip("-") if negated else bare
        else:
            negated, raw = bool(dash), quoted
        term = Term(raw[:MAX_TERM_CHARS])
        words = term.words()
        # Punctuation alone would match nothing; a lone stop word, almost everything.
        if words and not (len(words) == 1 and words[0].lower() in STOP_WORDS):
            yield negated, term
