"""`.dockerignore` rules as Docker applies them (moby/patternmatcher): `*`, `?`, `[...]`, `**`, `!` re-includes.

    patterns = read_patterns(text)         # comments, blank lines, path cleaning, leading `/` dropped
    m = Matcher(patterns)
    m.matches("src/x.pyc")                 # excluded from the build context?
    m.excludes_dir_entirely("node_modules")  # safe to skip the whole directory while walking?

A path is excluded when the last pattern that matches it (or one of its parent directories) is not
an exclusion; later patterns win. Paths are context-relative with `/` separators.
"""

import posixpath
import re
from collections.abc import Sequence

from minidock.errors import DockerfileError
from minidock.nouns import NamedTuple

_WILDCARDS = "*?[\\"


class Pattern(NamedTuple):
    """One cleaned pattern; `exclusion` is a `!` line that re-includes what it matches."""

    text: str
    exclusion: bool = False


def clean(path: str) -> str:
    """Go's filepath.Clean for `/` paths (posixpath.normpath, but `//a` -> `/a`)."""
    cleaned = posixpath.normpath(path) if path else "."
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def read_patterns(text: str) -> list[Pattern]:
    """Parse `.dockerignore` text: `#` lines are comments, blanks skipped, paths cleaned and made relative."""
    patterns = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removeprefix("\ufeff") if number == 1 else raw
        if line.startswith("#") or not line.strip():
            continue
        body = line.strip()
        exclusion = body.startswith("!")
        if exclusion:
            body = body[1:].strip()
            if not body:
                raise DockerfileError(f".dockerignore:{number}: illegal exclusion pattern: \"!\"")
        body = clean(body)
        if len(body) > 1 and body.startswith("/"):
            body = body[1:]
        patterns.append(Pattern(body, exclusion))
    return patterns


class _Compiled(NamedTuple):
    pattern: Pattern
    kind: str  # exact, prefix, suffix, regex
    regex: re.Pattern[str] | None


def _translate(text: str) -> tuple[str, str]:
    """(match kind, regex source) for one pattern, as patternmatcher compiles it."""
    out, kind, i, in_class = ["^"], "exact", 0, False
    while i < len(text):
        at_start = i == 0
        ch, i = text[i], i + 1
        if in_class and ch not in "]\\":
            out.append("\\" + ch if ch in "[&~|" else ch)
        elif ch == "*" and text.startswith("*", i):
            i += 2 if text.startswith("*/", i) else 1
            kind = _double_star(out, kind, at_end=i >= len(text))
            kind = "suffix" if at_start else kind
        elif ch in "*?":
            out.append("[^/]*" if ch == "*" else "[^/]")
            kind = "regex"
        elif ch == "\\":
            out.append(re.escape(text[i]) if i < len(text) else "\\\\")
            i, kind = i + 1, "regex"
        elif ch in "[]":
            in_class = ch == "["
            out.append(ch)
            kind = "regex"
        else:
            out.append(re.escape(ch))
    return kind, "".join(out) + r"\Z"


def _double_star(out: list[str], kind: str, at_end: bool) -> str:
    """`**` (with its `/` eaten): any number of directories, or everything when it ends the pattern."""
    if not at_end:
        out.append("(.*/)?")
        return "regex"
    if kind == "exact":
        return "prefix"
    out.append(".*")
    return "regex"


def _compile(pattern: Pattern) -> _Compiled:
    kind, source = _translate(pattern.text)
    if kind != "regex":
        return _Compiled(pattern, kind, None)
    try:
        return _Compiled(pattern, kind, re.compile(source))
    except re.error as e:
        raise DockerfileError(f".dockerignore: bad pattern {pattern.text}: {e}") from e


def _matches(compiled: _Compiled, path: str) -> bool:
    text = compiled.pattern.text
    if compiled.kind == "exact":
        return path == text
    if compiled.kind == "prefix":
        return path.startswith(text[:-2])
    if compiled.kind == "suffix":
        suffix = text[2:]
        return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
    assert compiled.regex is not None
    return compiled.regex.match(path) is not None


class Matcher:
    """Decides, for context-relative paths, whether `.dockerignore` excludes them."""

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        self._compiled = [_compile(p) for p in patterns if p.text]
        self.has_exclusions = any(p.exclusion for p in patterns)

    def matches(self, relpath: str) -> bool:
        """Is this path excluded (itself or through a parent directory)?"""
        path = clean(relpath).lstrip("/") or "."
        parent = posixpath.dirname(path) or "."
        parents = parent.split("/") if parent != "." else []
        matched = False
        for compiled in self._compiled:
            if compiled.pattern.exclusion != matched:
                continue
            hit = _matches(compiled, path) or any(
                _matches(compiled, "/".join(parents[: i + 1])) for i in range(len(parents))
            )
            if hit:
                matched = not compiled.pattern.exclusion
        return matched

    def excludes_dir_entirely(self, relpath: str) -> bool:
        """True when the directory is excluded and no `!` pattern could re-include anything below it."""
        if not self.matches(relpath):
            return False
        prefix = clean(relpath).lstrip("/") + "/"
        for compiled in self._compiled:
            if compiled.pattern.exclusion and _could_reach(compiled.pattern.text, prefix):
                return False
        return True


def _could_reach(text: str, dir_prefix: str) -> bool:
    """Could exclusion pattern `text` match the directory or something inside it (conservative)?"""
    cut = min((text.find(ch) for ch in _WILDCARDS if ch in text), default=-1)
    if cut < 0:
        return (text + "/").startswith(dir_prefix)
    literal = text[:cut]
    return dir_prefix.startswith(literal) or literal.startswith(dir_prefix)
