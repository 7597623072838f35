"""BuildKit's shell lexer: quote removal, escapes, `$VAR` / `${VAR...}` expansion and word splitting.

This is what Docker applies to the arguments of ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER
VOLUME WORKDIR (and ARG defaults) at build time; RUN/CMD/ENTRYPOINT text goes to the shell
untouched. Supported forms: `$V`, `${V}`, `${V:-w}`, `${V-w}`, `${V:+w}`, `${V+w}`, `${V:?msg}`,
`${V?msg}`, `${V#p}`, `${V##p}`, `${V%p}`, `${V%%p}`, `${V/p/r}`, `${V//p/r}` (patterns: `*`, `?`,
escaped `\\*`), positional and special parameters (always empty). Errors raise `ExpandError`.
"""

import re
from collections.abc import Mapping

from minidock.errors import DockerfileError
from minidock.nouns import NamedTuple

_SPECIAL_PARAMS = "@*#?-$!0"
_NOT_GO_SPACE = "\x1c\x1d\x1e\x1f"


class ExpandError(DockerfileError):
    """A word that cannot be expanded (bad syntax, `${V:?msg}`); the message names the word.

    It subclasses DockerfileError (exit code 125) but carries no `FILE:LINE:` prefix: the builder,
    which knows the instruction, adds it.
    """


def is_space(ch: str) -> bool:
    """Go's unicode.IsSpace for one character (Python also counts \\x1c-\\x1f, Go does not)."""
    return ch.isspace() and ch not in _NOT_GO_SPACE


class LexOptions(NamedTuple):
    """Lexer switches: keep quotes / escapes in the output, leave unset variables unexpanded."""

    escape: str = "\\"
    raw_quotes: bool = False
    raw_escapes: bool = False
    skip_unset: bool = False
    heredoc_words: bool = False  # `<<` plus following blanks stay in the word (`<<  EOF` is one word)


def expand_word(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """Expand one word to one string (BuildKit ProcessWord): whitespace from expansion is kept."""
    return _Lexer(word, env, LexOptions(escape=escape)).run()[0]


def expand_words(word: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """Expand and split into words (BuildKit ProcessWords): unquoted expansions are field-split."""
    return _Lexer(word, env, LexOptions(escape=escape)).run()[1]


def process_text(word: str, env: Mapping[str, str], options: LexOptions) -> str:
    """ProcessWord with explicit lexer options (progress shows RUN with quotes kept, variables expanded)."""
    return _Lexer(word, env, options).run()[0]


def process_words(word: str, env: Mapping[str, str], options: LexOptions) -> list[str]:
    """ProcessWords with explicit lexer options (the parser uses it to find heredoc markers)."""
    return _Lexer(word, env, options).run()[1]


class _Words:
    """Accumulates the word list: unquoted blanks end a word, quoted text never does."""

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if is_space(ch):
            if self.in_word and self.buf:
                self.words.append("".join(self.buf))
                self.buf = []
                self.in_word = False
        else:
            self.add_raw(ch)

    def add_raw(self, text: str) -> None:
        self.buf.append(text)
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def result(self) -> list[str]:
        word = "".join(self.buf)
        if word:
            self.words.append(word)
            self.buf = []
            self.in_word = False
        return self.words


class _Lexer:
    """One pass over one word; `run()` returns (single string, word list)."""

    def __init__(self, text: str, env: Mapping[str, str], options: LexOptions) -> None:
        self.text = text
        self.pos = 0
        self.env = env
        self.opts = options
        self.raw_escapes = options.raw_escapes

    def run(self) -> tuple[str, list[str]]:
        try:
            return self.stop_on("", self.raw_escapes)
        except _LexError as e:
            raise ExpandError(f'failed to process "{self.text}": {e}') from e

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        if ch:
            self.pos += 1
        return ch

    def stop_on(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        """Process until `stop` (consumed) or the end ("" = end of input is the goal)."""
        saved, self.raw_escapes = self.raw_escapes, raw_escapes
        try:
            return self._stop_on(stop)
        finally:
            self.raw_escapes = saved

    def _stop_on(self, stop: str) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        while ch := self.peek():
            if stop and ch == stop:
                self.next()
                return "".join(result), words.result()
            if ch == "$":
                text = self.dollar()
                words.add_string(text)
            elif ch in "'\"":
                text = self.single_quote() if ch == "'" else self.double_quote()
                words.add_raw(text)
            elif ch == "<" and self.opts.heredoc_words:
                text = self.possible_heredoc()
                words.add_raw(text)
            elif not self._plain_char(result, words):
                break
            else:
                continue
            result.append(text)
        if stop:
            raise _LexError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.result()

    def _plain_char(self, result: list[str], words: _Words) -> bool:
        """Consume one ordinary or escaped character; False when a trailing escape ends input."""
        ch = self.next()
        if ch != self.opts.escape:
            words.add_char(ch)
            result.append(ch)
            return True
        if self.raw_escapes:
            words.add_raw(ch)
            result.append(ch)
        ch = self.next()
        if not ch:
            return False
        words.add_raw(ch)
        result.append(ch)
        return True

    def single_quote(self) -> str:
        """'...': everything literal up to the next single quote."""
        opening = self.next()
        out = [opening] if self.opts.raw_quotes else []
        while True:
            ch = self.next()
            if not ch:
                raise _LexError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.opts.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def double_quote(self) -> str:
        """"...": `$` expands; the escape token only escapes `"`, `$` and itself."""
        opening = self.next()
        out = [opening] if self.opts.raw_quotes else []
        while True:
            ch = self.peek()
            if not ch:
                raise _LexError("unexpected end of statement while looking for matching double-quote")
            if ch == '"':
                self.next()
                if self.opts.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            self.next()
            if ch == self.opts.escape:
                if self.raw_escapes:
                    out.append(ch)
                nxt = self.peek()
                if not nxt:
                    continue
                if nxt in ('"', "$", self.opts.escape):
                    ch = self.next()
            out.append(ch)

    def possible_heredoc(self) -> str:
        """`<<` and the blanks after it, kept together so the terminator joins the same word."""
        self.next()
        if self.peek() != "<":
            return "<"
        self.next()
        start = self.pos
        while self.peek() and is_space(self.peek()):
            self.next()
        return "<<" + self.text[start : self.pos]

    def name(self) -> str:
        """A variable name: letters/digits/_, or all leading digits, or one special parameter."""
        start = self.pos
        ch = self.peek()
        if ch.isdecimal():
            while self.peek().isdecimal():
                self.next()
            return self.text[start : self.pos]
        if ch and ch in _SPECIAL_PARAMS:
            return self.next()
        while (ch := self.peek()) and (ch.isalpha() or ch.isdecimal() or ch == "_"):
            self.next()
        return self.text[start : self.pos]

    def lookup(self, name: str) -> str | None:
        return self.env.get(name)

    def dollar(self) -> str:
        """`$NAME` or `${...}`; a `$` not followed by a name stays literal."""
        self.next()
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            value = self.lookup(name)
            if value is None:
                return "$" + name if self.opts.skip_unset else ""
            return value
        self.next()
        ch = self.peek()
        if not ch:
            raise _LexError("syntax error: missing '}'")
        if ch in "{}:":
            raise _LexError("syntax error: bad substitution")
        return self.braced(self.name())

    def braced(self, name: str) -> str:
        """The rest of `${NAME...}` after the name."""
        ch = self.next()
        if ch == "}":
            value = self.lookup(name)
            if value is None:
                return "${" + name + "}" if self.opts.skip_unset else ""
            return value
        if ch == "/":
            return self.replace(name)
        if not ch:
            raise _LexError("syntax error: missing '}'")
        colon = ch == ":"
        op = self.next() if colon else ch
        if op not in ("+", "-", "?", "#", "%") or (colon and op in "#%"):
            raise _LexError(f"unsupported modifier ({':' if colon else ''}{op}) in substitution")
        word = self.until("}", raw_escapes=op in "#%")
        value = self.lookup(name)
        if value is None and self.opts.skip_unset:
            return "${" + name + (":" if colon else "") + op + word + "}"
        return _apply_modifier(name, value, op, word, colon)

    def until(self, stop: str, raw_escapes: bool) -> str:
        try:
            return self.stop_on(stop, raw_escapes)[0]
        except _LexError:
            if not self.peek():
                raise _LexError(f"syntax error: missing '{stop}'") from None
            raise

    def replace(self, name: str) -> str:
        """`${NAME/pattern/replacement}` and `${NAME//pattern/replacement}` (all matches)."""
        replace_all = self.peek() == "/"
        if replace_all:
            self.next()
        pattern = self.until("/", raw_escapes=True)
        replacement = self.until("}", raw_escapes=True)
        value = self.lookup(name)
        if value is None:
            if self.opts.skip_unset:
                return "${" + name + "/" + pattern + "/" + replacement + "}"
            value = ""
        regex = _pattern_regex(pattern, greedy=True, anchored=False)
        return regex.sub(lambda _m: replacement, value, count=0 if replace_all else 1)


class _LexError(Exception):
    """Internal: a lexing error before the word is named."""


def _apply_modifier(name: str, value: str | None, op: str, word: str, colon: bool) -> str:
    """Apply -, +, ?, #, ## , %, %% to a variable's value (None = unset; colon = empty counts as unset)."""
    unset = value is None or (colon and value == "")
    if op == "-":
        return word if unset else (value or "")
    if op == "+":
        return "" if unset else word
    if op == "?":
        if value is None:
            raise _LexError(f"{name}: {word or 'is not allowed to be unset'}")
        if unset:
            raise _LexError(f"{name}: {word or 'is not allowed to be empty'}")
        return value
    greedy = word.startswith(op)
    if greedy:
        word = word[1:]
    if op == "#":
        return _trim_prefix(word, value or "", greedy)
    return _trim_suffix(word, value or "", greedy)


def _pattern_regex(pattern: str, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """A shell wildcard pattern (`*`, `?`, `\\*` `\\?` `\\\\`) as a regex; no bracket expressions."""
    out = ["^"] if anchored else []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append(".*" if greedy else ".*?")
        elif ch == "?":
            out.append(".")
        elif ch == "\\":
            nxt = pattern[i] if i < len(pattern) else ""
            if nxt in ("}", "/"):
                continue
            if nxt not in ("*", "?", "\\"):
                raise _LexError(f"invalid pattern ({pattern}) in substitution: invalid escape '\\{nxt}'")
            out.append(re.escape(nxt))
            i += 1
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out))


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    match = _pattern_regex(pattern, greedy, anchored=True).search(value)
    return value[match.end() :] if match else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern keeping each `\\x` escape pair in order."""
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            tokens.append(pattern[i : i + 2])
            i += 2
        else:
            tokens.append(pattern[i])
            i += 1
    return "".join(reversed(tokens))


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    """Shortest/longest suffix removal, done as a prefix removal on the reversed strings."""
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]

