"""Dockerfile text -> AST nodes, read the way BuildKit's parser reads it.

Owns physical-line handling: the BOM, parser directives (`# escape=`, `# syntax=`, `# check=`),
comments (also inside continuations), line continuations, empty continuation lines (a warning),
heredoc bodies, and line numbers. Per-instruction argument rules live in `nodes`, heredoc marker
detection in `heredoc`. Errors raise DockerfileError(`FILE:LINE: reason`).

    python -m minidock.builder.parser Dockerfile --dump   # BuildKit's dump format
    python -m minidock.builder.parser Dockerfile --json   # one JSON object per instruction
"""

import re
import sys
from collections.abc import Sequence

from minidock.builder import heredoc
from minidock.builder.nodes import KEYWORDS, Heredoc, LineError, Node, node_from_line
from minidock.errors import DockerfileError
from minidock.nouns import NamedTuple

MAX_LINE = 65535
_DIRECTIVE = re.compile(r"^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$")
_KNOWN_DIRECTIVES = ("escape", "syntax", "check")


class ParseResult(NamedTuple):
    """The parsed file: instructions in order, the escape token, directives and warnings."""

    nodes: tuple[Node, ...]
    escape: str = "\\"
    directives: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def start_line(self) -> int:
        return self.nodes[0].start_line

    @property
    def end_line(self) -> int:
        return self.nodes[-1].end_line

    def dump(self) -> str:
        """BuildKit's AST dump: one `(...)` line per instruction, each ending in a newline."""
        return "".join("(" + node.dump() + ")\n" for node in self.nodes)


class _Directives:
    """Parser-directive state: only lines at the very top count, each key at most once."""

    __slots__ = ("done", "escape", "seen")

    def __init__(self) -> None:
        self.escape = "\\"
        self.done = False
        self.seen: dict[str, str] = {}

    def consider(self, token: str) -> None:
        if self.done:
            return
        match = _DIRECTIVE.match(token)
        key = match.group(1).lower() if match else ""
        if match is None or key not in _KNOWN_DIRECTIVES:
            self.done = True
            return
        if key in self.seen:
            raise LineError(f"only one {key} parser directive can be used")
        value = match.group(2)
        if key == "escape" and value not in ("`", "\\"):
            raise LineError(f"invalid escape token '{value}' does not match ` or \\")
        self.seen[key] = value
        if key == "escape":
            self.escape = value

    def trim_continuation(self, line: str) -> tuple[str, bool]:
        """(line without a trailing continuation token, whether the instruction ends here)."""
        body = line.rstrip(" \t")
        if body.endswith(self.escape) and (len(body) == 1 or body[-2] != self.escape):
            return body[:-1], False
        return line, True


class _Lines:
    """Physical lines (with their line endings) and how many have been consumed."""

    def __init__(self, text: str, filename: str) -> None:
        self.filename = filename
        self.lines = _split_lf(text)
        if self.lines and self.lines[0].startswith("\ufeff"):
            self.lines[0] = self.lines[0][1:]
        self.count = 0

    def next(self) -> str | None:
        if self.count >= len(self.lines):
            return None
        line = self.lines[self.count]
        self.count += 1
        if len(line.rstrip("\r\n").encode("utf-8", "surrogateescape")) > MAX_LINE:
            raise DockerfileError(f"{self.filename}:{self.count}: line greater than max allowed size of {MAX_LINE}")
        return line


def _split_lf(text: str) -> list[str]:
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def _is_comment(raw: str) -> bool:
    return raw.rstrip("\r\n").lstrip().startswith("#")


def _process(d: _Directives, raw: str, strip_left: bool) -> str:
    """Drop the line ending (and leading blanks for a first line), note directives, blank comments."""
    token = raw.rstrip("\r\n")
    if strip_left:
        token = token.lstrip()
    d.consider(token)
    return "" if token.startswith("#") else token


class _Parser:
    """One parse: the line source, the directive state, and what has been collected."""

    __slots__ = ("allow_unknown", "directives", "filename", "lines", "nodes", "warnings")

    def __init__(self, lines: _Lines, filename: str, allow_unknown: bool) -> None:
        self.lines, self.filename, self.allow_unknown = lines, filename, allow_unknown
        self.directives = _Directives()
        self.nodes: list[Node] = []
        self.warnings: list[str] = []

    def run(self) -> ParseResult:
        while (raw := self.lines.next()) is not None:
            start = self.lines.count
            try:
                self.instruction(raw, start)
            except LineError as e:
                raise DockerfileError(f"{self.filename}:{start}: {e}") from e
        if not self.nodes:
            raise DockerfileError(f"{self.filename}:{max(self.lines.count, 1)}: file with no instructions")
        return ParseResult(
            nodes=tuple(self.nodes), escape=self.directives.escape,
            directives=tuple(self.directives.seen.items()), warnings=tuple(self.warnings),
        )  # fmt: skip

    def instruction(self, raw: str, start: int) -> None:
        """Read one logical instruction starting with physical line `raw` (line number `start`)."""
        line = self.join_continuations(raw)
        if line is None:
            return
        node = node_from_line(line, self.directives.escape)
        self.check_known(node, line)
        docs = self.read_heredocs(line) if heredoc.can_contain_heredoc(node) else ()
        node = node._replace(heredocs=docs, start_line=start, end_line=self.lines.count)
        self.nodes.append(node)

    def join_continuations(self, raw: str) -> str | None:
        """The logical line, or None for a blank/comment line outside an instruction."""
        d = self.directives
        line, done = d.trim_continuation(_process(d, raw, strip_left=True))
        if done and not line:
            return None
        empty_continuation = False
        while not done and (nxt := self.lines.next()) is not None:
            token = _process(d, nxt, strip_left=False)
            if _is_comment(nxt):
                continue
            if not token.strip():
                empty_continuation = True
                continue
            more, done = d.trim_continuation(token)
            line += more
        if empty_continuation:
            self.warnings.append(f"empty continuation line found in: {line}")
        return line

    def check_known(self, node: Node, line: str) -> None:
        if self.allow_unknown:
            return
        if not node.known:
            raise LineError(_unknown(line))
        if node.inner is not None and not node.inner.known:
            raise LineError(_unknown(node.inner.original))

    def read_heredocs(self, line: str) -> tuple[Heredoc, ...]:
        """Consume the body of every heredoc marker on the line, in order."""
        docs = []
        for doc in heredoc.markers(line):
            body: list[str] = []
            while True:
                raw = self.lines.next()
                if raw is None:
                    raise LineError(f"unterminated heredoc {doc.name}")
                candidate = raw.rstrip("\r\n")
                if doc.chomp:
                    candidate = candidate.lstrip("\t")
                if candidate == doc.name:
                    break
                body.append(raw)
            docs.append(doc._replace(content="".join(body)))
        return tuple(docs)


def _unknown(line: str) -> str:
    import difflib  # lazy: only an unknown instruction needs the "did you mean" hint

    word = line.split(maxsplit=1)[0]
    close = difflib.get_close_matches(word.lower(), KEYWORDS, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0].upper()}?)" if close else ""
    return f"unknown instruction: {word}{hint}"


def parse(text: str, filename: str = "Dockerfile", allow_unknown: bool = False) -> ParseResult:
    """Parse Dockerfile text. `allow_unknown=True` keeps unknown instructions as `(word "")` like BuildKit."""
    return _Parser(_Lines(text, filename), filename, allow_unknown).run()


def decode(data: bytes) -> str:
    """Dockerfile bytes -> text; invalid UTF-8 survives as surrogate escapes (dumped as \\xNN)."""
    return data.decode("utf-8", "surrogateescape")


def node_to_json(node: Node) -> dict[str, object]:
    """The `--json` form of one instruction."""
    return {
        "keyword": node.keyword,
        "flags": list(node.flags),
        "args": list(node.args),
        "json": node.json,
        "heredocs": [doc._asdict() for doc in node.heredocs],
        "start_line": node.start_line,
        "end_line": node.end_line,
        "original": node.original,
        "inner": node_to_json(node.inner) if node.inner is not None else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m minidock.builder.parser`; the one place in build/ that prints."""
    import argparse  # lazy: only the command-line tool parses arguments
    import json  # lazy: only the --json dump writes JSON

    ap = argparse.ArgumentParser(prog="python -m minidock.builder.parser", description="parse a Dockerfile")
    ap.add_argument("file")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--dump", action="store_true", help="print BuildKit's AST dump (default)")
    mode.add_argument("--json", action="store_true", help="print one JSON object per instruction")
    args = ap.parse_args(argv)
    try:
        with open(args.file, "rb") as f:
            text = decode(f.read())
        result = parse(text, args.file)
    except OSError as e:
        print(f"{args.file}: cannot read: {e.strerror or e}", file=sys.stderr)
        return 1
    except DockerfileError as e:
        print(str(e), file=sys.stderr)
        return 1
    if args.json:
        out = "".join(json.dumps(node_to_json(n), ensure_ascii=False) + "\n" for n in result.nodes)
    else:
        out = result.dump()
    sys.stdout.buffer.write(out.encode("utf-8", "surrogateescape"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
