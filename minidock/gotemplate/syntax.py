"""Go text/template's parser: tokens into a tree of tuples, with Go's parse-time checks.

Nodes (tuples; the first item is the kind):
    ("text", str) ("action", Pipe) ("if"|"range"|"with", Pipe, list, else_list) ("break",) ("continue",)
A Pipe is (decls, is_assign, commands, pos); a command is (args, pos); an argument is one of
    ("field", names, pos) ("var", names, pos) ("chain", node, names, pos) ("dot", pos) ("nil", pos)
    ("lit", value, pos) ("ident", name, pos) ("pipe", Pipe, pos)
"""

from __future__ import annotations

from minidock.gotemplate.lex import Lexer, Token
from minidock.gotemplate.values import TemplateError

TYPE_CHECKING = False
if TYPE_CHECKING:  # why: no typing import at run time (templates run on the quick path)
    from collections.abc import Collection
    from typing import Any

Node = tuple["Any", ...]


class Parser:
    """One template's tree; `funcs` are the names a command may call (Go checks them while parsing)."""

    def __init__(self, text: str, name: str, funcs: Collection[str]) -> None:
        self.lexer = Lexer(text, name)
        self.tokens: list[Token] = self.lexer.run()
        self.i = 0
        self.funcs = funcs
        self.vars: list[str] = ["$"]
        self.range_depth = 0

    def fail(self, message: str, pos: int | None = None) -> TemplateError:
        return self.lexer.fail(message, self.tokens[self.i][2] if pos is None else pos)

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next_nonspace(self) -> Token:
        while self.peek()[0] == "space":
            self.i += 1
        return self.next()

    def peek_nonspace(self) -> Token:
        j = self.i
        while self.tokens[j][0] == "space":
            j += 1
        return self.tokens[j]

    def parse(self) -> list[Node]:
        nodes, end = self.list_until(())
        if end is not None:
            raise self.fail(f"unexpected {{{{{end}}}}}", self.tokens[self.i - 1][2])
        return nodes

    def list_until(self, ends: tuple[str, ...]) -> tuple[list[Node], str | None]:
        """Nodes up to EOF or an action starting with one of `ends` (its keyword is consumed)."""
        nodes: list[Node] = []
        while True:
            kind, value, pos = self.next()
            if kind == "eof":
                if ends:
                    raise self.fail("unexpected EOF", pos)
                return nodes, None
            if kind == "text":
                nodes.append(("text", value))
                continue
            word = self.peek_nonspace()
            if word[0] == "keyword":
                self.next_nonspace()
                if word[1] in ("end", "else"):
                    if word[1] not in ends:
                        raise self.fail(f"unexpected {{{{{word[1]}}}}}", word[2])
                    return nodes, word[1]
                nodes.append(self.keyword(word[1], word[2]))
                continue
            nodes.append(("action", self.pipeline("command", "right")))

    def keyword(self, word: str, pos: int) -> Node:
        if word in ("break", "continue"):
            if not self.range_depth:
                raise self.fail(f"{{{{{word}}}}} outside {{{{range}}}}", pos)
            self.expect_right(word)
            return (word,)
        if word in ("if", "range", "with"):
            return self.block(word)
        raise self.fail(f"{{{{{word}}}}} is not supported", pos)

    def expect_right(self, context: str) -> None:
        kind, value, pos = self.next_nonspace()
        if kind != "right":
            raise self.fail(f"unexpected {_describe(kind, value)} in {context}", pos)

    def block(self, word: str) -> Node:
        """`if`, `range` or `with` up to its {{end}} (an `else if`/`else with` shares that end)."""
        mark = len(self.vars)
        pipe = self.pipeline(word, "right")
        if word == "range":
            self.range_depth += 1
        body, end = self.list_until(("end", "else"))
        if word == "range":
            self.range_depth -= 1
        else_body: list[Node] = []
        if end == "else":
            nxt = self.peek_nonspace()
            if nxt[0] == "keyword" and nxt[1] in ("if", "with") and word != "range":
                self.next_nonspace()
                else_body = [self.block(nxt[1])]
            else:
                self.expect_right("else")
                else_body, _ = self.list_until(("end",))
                self.expect_right("end")
        else:
            self.expect_right("end")
        del self.vars[mark:]
        return (word, pipe, body, else_body)

    def pipeline(self, context: str, close: str) -> Node:
        """A pipeline up to `close` (right or rparen): declarations, then commands joined by `|`."""
        pos = self.peek_nonspace()[2]
        decls, assign = self.declarations(context)
        cmds: list[Node] = []
        while True:
            kind, _, tpos = self.peek_nonspace()
            if kind == close:
                self.next_nonspace()
                break
            if kind == "pipe" and cmds:
                self.next_nonspace()
            elif cmds or kind in ("right", "rparen", "eof"):
                raise self.fail("missing value for command" if kind in ("right", "pipe") else
                                f"unexpected {_describe(kind, None)} in {context}", tpos)
            cmds.append(self.command())
        if not cmds:
            raise self.fail(f"missing value for {context}", pos)
        for n, (args, cpos) in enumerate(cmds[1:], start=2):
            if args[0][0] in ("dot", "nil", "lit"):
                raise self.fail(f"non executable command in pipeline stage {n}", cpos)
        return (tuple(decls), assign, cmds, pos)

    def declarations(self, context: str) -> tuple[list[str], bool]:
        """`$x :=`, `$x =` or (range) `$i, $e :=` at the pipeline's start; declared names are in scope."""
        start = self.i
        first = self.next_nonspace()
        if first[0] != "var":
            self.i = start
            return [], False
        names, op = [first[1]], self.next_nonspace()
        if op[0] == "comma" and context == "range":
            second = self.next_nonspace()
            op = self.next_nonspace()
            if second[0] != "var" or op[0] != "declare":
                raise self.fail("range can only initialize variables", op[2])
            names.append(second[1])
        if op[0] not in ("declare", "assign"):
            self.i = start
            return [], False
        if op[0] == "assign" and first[1] not in self.vars:
            raise self.fail(f"undefined variable {first[1]!r}".replace("'", '"'), first[2])
        if op[0] == "declare":
            self.vars.extend(names)
        return names, op[0] == "assign"

    def command(self) -> Node:
        """Operands separated by spaces, up to `|`, `)` or the action's end."""
        pos = self.peek_nonspace()[2]
        args: list[Node] = []
        while True:
            kind = self.peek_nonspace()[0]
            if kind in ("right", "rparen", "pipe", "eof"):
                break
            if args and self.peek()[0] != "space":
                raise self.fail(f"unexpected {_describe(kind, self.peek()[1])} in operand")
            self.next_nonspace()
            self.i -= 1
            args.append(self.operand())
        if not args:
            raise self.fail("missing value for command", pos)
        return (args, pos)

    def operand(self) -> Node:
        node = self.term()
        names: list[str] = []
        chain_pos = self.peek()[2]
        while self.peek()[0] == "field":
            names.append(self.next()[1])
        if not names:
            return node
        if node[0] in ("field", "var"):
            return (node[0], (*node[1], *names), chain_pos)
        if node[0] in ("dot", "nil", "lit", "ident"):
            raise self.fail(f"unexpected . after term {_node_text(node)!r}", chain_pos)
        return ("chain", node, tuple(names), chain_pos)

    def term(self) -> Node:
        kind, value, pos = self.next()
        if kind == "field":
            return ("field", (value,), pos)
        if kind == "var":
            if value not in self.vars:
                raise self.fail(f'undefined variable "{value}"', pos)
            return ("var", (value,), pos)
        if kind == "dot":
            return ("dot", pos)
        if kind == "nil":
            return ("nil", pos)
        if kind in ("string", "number", "bool"):
            return ("lit", value, pos, self.lexer.text[pos:self._token_end()])
        if kind == "ident":
            if value not in self.funcs:
                raise self.fail(f'function "{value}" not defined', pos)
            return ("ident", value, pos)
        if kind == "lparen":
            return ("pipe", self.pipeline("parenthesized pipeline", "rparen"), pos)
        raise self.fail(f"unexpected {_describe(kind, value)} in operand", pos)

    def _token_end(self) -> int:
        return self.tokens[self.i][2]


def _describe(kind: str, value: Any) -> str:
    return {"right": '"}}"', "rparen": '")"', "eof": "EOF", "pipe": '"|"', "comma": '","',
            "declare": '":="', "assign": '"="'}.get(kind, f"<{value}>" if value is not None else kind)


def _node_text(node: Node) -> str:
    """Go's String() of an argument node (the `<...>` of execution errors)."""
    kind = node[0]
    if kind == "field":
        return "".join("." + n for n in node[1])
    if kind == "var":
        return str(node[1][0]) + "".join("." + n for n in node[1][1:])
    if kind == "chain":
        return _node_text(node[1]) + "".join("." + n for n in node[2])
    if kind == "dot":
        return "."
    if kind == "nil":
        return "nil"
    if kind == "lit":
        return str(node[3]).strip()
    if kind == "ident":
        return str(node[1])
    return "(" + pipe_text(node[1]) + ")"


def command_text(cmd: Node) -> str:
    return " ".join(_node_text(a) for a in cmd[0])


def pipe_text(pipe: Node) -> str:
    decl = ", ".join(pipe[0]) + (" = " if pipe[1] else " := ") if pipe[0] else ""
    return decl + " | ".join(command_text(c) for c in pipe[2])


node_text = _node_text
