"""Heredoc markers on an instruction line (`<<EOF`, `<<-EOF`, `3<<'EOF'`), as BuildKit finds them.

`markers(line)` returns one Heredoc (empty body) per marker word, in order; the parser then reads
the bodies. A quoted name (any part) means the body is not expanded; `<<-` strips leading tabs.
"""

from __future__ import annotations

import re

from minidock.builder.expand import ExpandError, LexOptions, process_words
from minidock.builder.nodes import Heredoc, LineError, Node

HEREDOC_KEYWORDS = frozenset({"run", "copy", "add"})
_MARKER = re.compile(r"^(\d*)<<(-?)\s*([^<]*)$", re.DOTALL)
_LINE_WORDS = LexOptions(raw_quotes=True, raw_escapes=True, skip_unset=True, heredoc_words=True)
_NAME_PLAIN = LexOptions(skip_unset=True)
_NAME_RAW = LexOptions(raw_quotes=True, skip_unset=True)
_LEADING_TABS = re.compile(r"^\t+", re.MULTILINE)


def can_contain_heredoc(node: Node) -> bool:
    """RUN/COPY/ADD in shell form, also when wrapped by ONBUILD."""
    if node.keyword == "onbuild" and node.inner is not None:
        node = node.inner
    return node.keyword in HEREDOC_KEYWORDS and not node.json


def markers(line: str) -> list[Heredoc]:
    """Every heredoc marker word of the logical line, in order."""
    if "<<" not in line:
        return []
    try:
        words = process_words(line, {}, _LINE_WORDS)
    except ExpandError:
        return []
    docs = []
    for word in words:
        doc = parse_marker(word)
        if doc is not None:
            docs.append(doc)
    return docs


def parse_marker(word: str) -> Heredoc | None:
    """`[N]<<[-]NAME` -> Heredoc without body; None when the word is not a marker."""
    match = _MARKER.match(word)
    if match is None or not match.group(3):
        return None
    fd, dash, rest = match.groups()
    try:
        plain = process_words(rest, {}, _NAME_PLAIN)
        raw = process_words(rest, {}, _NAME_RAW)
    except ExpandError as e:
        raise LineError(f"invalid heredoc name {rest}: {e}") from e
    if len(plain) != 1:
        return None
    if len(raw) != 1:
        raise LineError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    quotes = _count_quotes(plain[0]) != _count_quotes(raw[0])
    return Heredoc(name=plain[0], fd=int(fd or 0), expand=not quotes, chomp=dash == "-")


def _count_quotes(text: str) -> int:
    return text.count("'") + text.count('"')


def chomp(content: str) -> str:
    """Strip leading tabs from every line (what `<<-` does to the body)."""
    return _LEADING_TABS.sub("", content)
