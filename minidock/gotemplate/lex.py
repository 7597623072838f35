"""Go text/template's lexer: text and actions into tokens, with `{{-`/`-}}` trimming and comments.

A token is (kind, value, pos): pos is the byte offset in the template (for Go's line:col).
Kinds: text, left, right, space, field, dot, var, string, number, bool, nil, ident, keyword,
lparen, rparen, pipe, declare, assign, comma, eof.
"""

from __future__ import annotations

from minidock.gotemplate.values import TemplateError

TYPE_CHECKING = False
if TYPE_CHECKING:  # why: no typing import at run time (templates run on the quick path)
    from typing import Any

Token = tuple[str, "Any", int]
KEYWORDS = ("if", "else", "end", "range", "with", "define", "template", "block", "break", "continue")
_SPACE = " \t\r\n"
_SINGLE = {"(": "lparen", ")": "rparen", "|": "pipe", ",": "comma", "=": "assign"}
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"',
            "'": "'"}


def _alnum(c: str) -> bool:
    return c == "_" or c.isalnum()


class Lexer:
    """Tokens of one template; errors are Go's (`template: NAME:LINE: message`)."""

    def __init__(self, text: str, name: str = "") -> None:
        self.text, self.name = text, name
        self.tokens: list[Token] = []

    def fail(self, message: str, pos: int) -> TemplateError:
        line = self.text.count("\n", 0, pos) + 1
        return TemplateError(f"template: {self.name}:{line}: {message}", parsing=True)

    def run(self) -> list[Token]:
        s, pos, trim_next = self.text, 0, False
        while True:
            i = s.find("{{", pos)
            text = s[pos:] if i < 0 else s[pos:i]
            if trim_next:
                text = text.lstrip(_SPACE)
            if i < 0:
                if text:
                    self.tokens.append(("text", text, pos))
                self.tokens.append(("eof", None, len(s)))
                return self.tokens
            start = i + 2
            if s.startswith("-", start) and s[start + 1:start + 2] in tuple(_SPACE):
                text, start = text.rstrip(_SPACE), start + 1
            if text:
                self.tokens.append(("text", text, pos))
            pos, trim_next = self._action(start, i)

    def _action(self, start: int, left: int) -> tuple[int, bool]:
        """Tokens of the action starting at `start`; returns where text resumes and whether to trim it."""
        s = self.text
        j = start
        while j < len(s) and s[j] in _SPACE:
            j += 1
        if s.startswith("/*", j):
            return self._comment(j, left)
        self.tokens.append(("left", None, left))
        pos = start
        while True:
            if pos >= len(s):
                raise self.fail("unclosed action", left)
            if s.startswith("}}", pos):
                self.tokens.append(("right", None, pos))
                return pos + 2, False
            c = s[pos]
            if c in _SPACE:
                end = pos
                while end < len(s) and s[end] in _SPACE:
                    end += 1
                if s.startswith("-}}", end):
                    self.tokens.append(("right", None, end))
                    return end + 3, True
                self.tokens.append(("space", None, pos))
                pos = end
                continue
            pos = self._token(pos)

    def _comment(self, j: int, left: int) -> tuple[int, bool]:
        s = self.text
        end = s.find("*/", j + 2)
        if end < 0:
            raise self.fail("unclosed comment", left)
        after = end + 2
        if s.startswith("}}", after):
            return after + 2, False
        if s.startswith(" -}}", after):
            return after + 4, True
        raise self.fail("comment ends before closing delimiter", left)

    def _token(self, pos: int) -> int:
        """One token at `pos` (not a space or a closing delimiter); returns the position after it."""
        s, c = self.text, self.text[pos]
        if c == ":" and s.startswith(":=", pos):
            self.tokens.append(("declare", None, pos))
            return pos + 2
        if c in _SINGLE:
            self.tokens.append((_SINGLE[c], c, pos))
            return pos + 1
        if c == '"':
            return self._quoted(pos)
        if c == "`":
            end = s.find("`", pos + 1)
            if end < 0:
                raise self.fail("unterminated raw quoted string", pos)
            self.tokens.append(("string", s[pos + 1:end], pos))
            return end + 1
        if c == "'":
            return self._char(pos)
        if c == "$":
            end = self._word_end(pos + 1)
            self.tokens.append(("var", s[pos:end], pos))
            return end
        if c == "." and not s[pos + 1:pos + 2].isdigit():
            end = self._word_end(pos + 1)
            self.tokens.append(("field", s[pos + 1:end], pos) if end > pos + 1 else ("dot", ".", pos))
            return end
        if c.isdigit() or (c in "+-." and (s[pos + 1:pos + 2].isdigit() or s[pos + 1:pos + 2] == ".")):
            return self._number(pos)
        if _alnum(c):
            end = self._word_end(pos)
            word = s[pos:end]
            kind = ("keyword" if word in KEYWORDS else "bool" if word in ("true", "false")
                    else "nil" if word == "nil" else "ident")
            self.tokens.append((kind, word == "true" if kind == "bool" else word, pos))
            return end
        raise self.fail(f'unexpected "{c}" in command', pos)

    def _word_end(self, pos: int) -> int:
        while pos < len(self.text) and _alnum(self.text[pos]):
            pos += 1
        return pos

    def _quoted(self, pos: int) -> int:
        s, i = self.text, pos + 1
        out: list[str] = []
        while True:
            if i >= len(s) or s[i] == "\n":
                raise self.fail("unterminated quoted string", pos)
            c = s[i]
            if c == '"':
                self.tokens.append(("string", "".join(out), pos))
                return i + 1
            if c != "\\":
                out.append(c)
                i += 1
                continue
            ch, i = self._escape(i, pos)
            out.append(ch)

    def _escape(self, i: int, pos: int) -> tuple[str, int]:
        """The character of the escape at s[i] == '\\' and the position after it."""
        s = self.text
        e = s[i + 1:i + 2]
        if e in _ESCAPES:
            return _ESCAPES[e], i + 2
        width = {"x": 2, "u": 4, "U": 8}.get(e, 0)
        try:
            if width:
                return chr(int(s[i + 2:i + 2 + width], 16)), i + 2 + width
            if e.isdigit():
                return chr(int(s[i + 1:i + 4], 8)), i + 4
        except ValueError:
            pass
        raise self.fail("invalid syntax", pos)

    def _char(self, pos: int) -> int:
        s = self.text
        if s[pos + 1:pos + 2] == "\\":
            ch, end = self._escape(pos + 1, pos)
        else:
            ch, end = s[pos + 1:pos + 2], pos + 2
        if not ch or s[end:end + 1] != "'":
            close = s.find("'", pos + 1)
            if close < 0 or "\n" in s[pos:close]:
                raise self.fail("unterminated character constant", pos)
            raise self.fail(f"malformed character constant: {s[pos:close + 1]}", pos)
        self.tokens.append(("number", ord(ch), pos))
        return end + 1

    def _number(self, pos: int) -> int:
        s, end = self.text, pos + 1
        while end < len(s) and (_alnum(s[end]) or s[end] == "." or (s[end] in "+-" and s[end - 1] in "eEpP")):
            end += 1
        word = s[pos:end]
        self.tokens.append(("number", _number_value(word, lambda: self.fail(f"bad number syntax: {word!r}", pos)),
                            pos))
        return end


def _number_value(word: str, fail: Any) -> int | float:
    text = word.replace("_", "")
    body = text.lstrip("+-")
    try:
        if body[:2].lower() in ("0x", "0o", "0b") or not any(c in body for c in ".eE"):
            if len(body) > 1 and body[0] == "0" and body[1].isdigit():
                return int(text, 8)
            return int(text, 0)
        return float(text)
    except ValueError:
        raise fail() from None
