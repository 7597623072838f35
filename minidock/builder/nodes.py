"""Dockerfile AST nodes: one logical line -> keyword, flags and argument nodes, as BuildKit builds them.

`node_from_line()` owns the per-instruction argument rules (JSON vs shell form, whitespace split,
ENV/LABEL key-value triples, ARG words, HEALTHCHECK type, ONBUILD nesting) and `--flag` extraction.
`Node.dump()` renders BuildKit's test dump format (`(run "echo hi")`).
"""

import json
import re

from minidock.builder.expand import is_space
from minidock.nouns import NamedTuple

KEYWORDS = (
    "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
    "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir",
)  # fmt: skip

_WHITESPACE = re.compile(r"[\t\v\f\r ]+")


class LineError(ValueError):
    """A logical line that does not parse; the parser adds `FILE:LINE:`."""


class Heredoc(NamedTuple):
    """One here-document: its terminator, body (lines with their newlines), fd, expand and chomp."""

    name: str
    content: str = ""
    fd: int = 0
    expand: bool = True
    chomp: bool = False


class Node(NamedTuple):
    """One instruction. `keyword` is lower-case; `inner` is ONBUILD's nested instruction."""

    keyword: str
    args: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    json: bool = False
    inner: "Node | None" = None
    heredocs: tuple[Heredoc, ...] = ()
    start_line: int = 0
    end_line: int = 0
    original: str = ""
    known: bool = True

    def dump(self) -> str:
        """BuildKit's dump of this node, without the surrounding parentheses."""
        parts = [self.keyword]
        if self.flags:
            parts.append("[" + " ".join(go_quote(f) for f in self.flags) + "]")
        if self.inner is not None:
            parts.append("(" + self.inner.dump() + ")")
        parts.extend(go_quote(a) for a in self.args)
        return " ".join(parts)


def go_quote(text: str) -> str:
    """Go's strconv.Quote; undecodable bytes arrive as surrogate escapes and render as \\xNN."""
    out = ['"']
    for ch in text:
        out.append(_quote_char(ch))
    out.append('"')
    return "".join(out)


_SIMPLE_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _quote_char(ch: str) -> str:
    code = ord(ch)
    if ch in ('"', "\\"):
        return "\\" + ch
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if ch == " " or (ch.isprintable() and not ch.isspace()):
        return ch
    if ch in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[ch]
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def node_from_line(line: str, escape: str) -> Node:
    """Split a joined logical line into keyword, flags and per-instruction argument nodes."""
    keyword, flags, rest = split_command(line)
    args, is_json, inner = _ARG_RULES.get(keyword, _ignore)(rest, escape)
    return Node(
        keyword=keyword, args=args, flags=flags, json=is_json, inner=inner,
        original=line, known=keyword in KEYWORDS,
    )  # fmt: skip


_ArgResult = tuple[tuple[str, ...], bool, "Node | None"]


def split_command(line: str) -> tuple[str, tuple[str, ...], str]:
    """(lower-case keyword, flags, trimmed rest)."""
    parts = _WHITESPACE.split(line.strip(), maxsplit=1)
    keyword = parts[0].lower()
    if len(parts) < 2:
        return keyword, (), ""
    rest, flags = extract_flags(parts[1])
    return keyword, tuple(flags), rest.strip()


def extract_flags(line: str) -> tuple[str, list[str]]:
    """Leading `--flag` words (quote-stripped, `\\`-unescaped); a bare `--` ends them and is dropped."""
    flags: list[str] = []
    pos = 0
    while True:
        while pos < len(line) and is_space(line[pos]):
            pos += 1
        if not line.startswith("--", pos):
            return line[pos:], flags
        word, pos, quoted = _flag_word(line, pos)
        if word == "--":
            return line[pos:], flags
        if word or quoted:
            flags.append(word)
        if pos >= len(line):
            return "", flags


def _flag_word(line: str, pos: int) -> tuple[str, int, bool]:
    """One flag word starting at pos: (unquoted text, position after it, had quotes)."""
    out: list[str] = []
    quote = ""
    quoted = False
    while pos < len(line):
        ch = line[pos]
        if not quote and is_space(ch):
            break
        pos += 1
        if ch == quote:
            quote = ""
            continue
        if not quote and ch in "'\"":
            quote, quoted = ch, True
            continue
        if ch == "\\":
            if pos == len(line):
                continue
            ch = line[pos]
            pos += 1
        out.append(ch)
    return "".join(out), pos, quoted


def parse_words(rest: str, escape: str) -> list[str]:
    """Quote-aware split keeping quotes and escapes verbatim (ARG, ENV/LABEL `=` form)."""
    words: list[str] = []
    buf: list[str] = []
    quote = ""
    blank_ok = False
    pos = 0
    while pos < len(rest):
        ch = rest[pos]
        pos += 1
        if not quote and is_space(ch):
            if blank_ok or buf:
                words.append("".join(buf))
            buf, blank_ok = [], False
            continue
        if ch == escape and quote != "'":
            if pos == len(rest):
                continue
            buf.append(ch)
            ch = rest[pos]
            pos += 1
        elif quote and ch == quote:
            quote = ""
        elif not quote and ch in "'\"":
            quote, blank_ok = ch, True
        buf.append(ch)
    if blank_ok or buf:
        words.append("".join(buf))
    return words


def _ignore(rest: str, escape: str) -> _ArgResult:
    return ("",), False, None


def _strings(rest: str, escape: str) -> _ArgResult:
    return (tuple(_WHITESPACE.split(rest)) if rest else ()), False, None


def _string(rest: str, escape: str) -> _ArgResult:
    return ((rest,) if rest else ()), False, None


def _parse_json(rest: str) -> tuple[str, ...] | None:
    """The JSON-array form, or None when the text is not a JSON array (then it is shell form)."""
    text = rest.lstrip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, str) for item in value):
        raise LineError("when using json array syntax, arrays must be comprised of strings only")
    return tuple(value)


def _reject_constant(name: str) -> object:
    raise ValueError(f"not json: {name}")


def _maybe_json(rest: str, escape: str) -> _ArgResult:
    if not rest:
        return (), False, None
    args = _parse_json(rest)
    if args is not None:
        return args, True, None
    return (rest,), False, None


def _maybe_json_list(rest: str, escape: str) -> _ArgResult:
    args = _parse_json(rest)
    if args is not None:
        return args, True, None
    return _strings(rest, escape)


def _name_val(rest: str, escape: str) -> _ArgResult:
    """ENV/LABEL: legacy `KEY value words` or `k=v k2=v2`, as (key, value, sep) triples."""
    words = parse_words(rest, escape)
    if not words:
        return (), False, None
    if "=" not in words[0]:
        parts = _WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise LineError(f"missing value for {parts[0]}: must be of the form: name value or name=value")
        return (parts[0], parts[1], ""), False, None
    triples: list[str] = []
    for word in words:
        if "=" not in word:
            raise LineError(f"syntax error - can't find = in {go_quote(word)}; must be of the form: name=value")
        key, value = word.split("=", 1)
        triples += [key, value, "="]
    return tuple(triples), False, None


def _arg_words(rest: str, escape: str) -> _ArgResult:
    return tuple(parse_words(rest, escape)), False, None


def _health(rest: str, escape: str) -> _ArgResult:
    """HEALTHCHECK: the first word (CMD/NONE/...) then the rest like CMD."""
    sep = 0
    while sep < len(rest) and not rest[sep].isspace():
        sep += 1
    if sep == 0:
        return (), False, None
    args, is_json, _ = _maybe_json(rest[sep:].lstrip(), escape)
    return (rest[:sep], *args), is_json, None


def _onbuild(rest: str, escape: str) -> _ArgResult:
    if not rest:
        return (), False, None
    return (), False, node_from_line(rest, escape)


_ARG_RULES = {
    "add": _maybe_json_list, "arg": _arg_words, "cmd": _maybe_json, "copy": _maybe_json_list,
    "entrypoint": _maybe_json, "env": _name_val, "expose": _strings, "from": _strings,
    "healthcheck": _health, "label": _name_val, "maintainer": _string, "onbuild": _onbuild,
    "run": _maybe_json, "shell": _maybe_json, "stopsignal": _string, "user": _string,
    "volume": _maybe_json_list, "workdir": _string,
}  # fmt: skip
