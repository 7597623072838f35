"""Go text/template's execution: walk the parsed tree over Python data (see the package docstring)."""

from __future__ import annotations

from _collections_abc import Mapping  # why: collections.abc's Mapping without importing collections (~1 ms)

from minidock.gotemplate import funcs as builtins
from minidock.gotemplate.syntax import Node, Parser, command_text, node_text
from minidock.gotemplate.values import MISSING, Struct, TemplateError, go_string, truth, type_name

TYPE_CHECKING = False
if TYPE_CHECKING:  # why: no typing import at run time (templates run on the quick path)
    from collections.abc import Callable
    from typing import Any

    Funcs = Mapping[str, Callable[..., Any]]


class _BreakSignal(Exception):  # noqa: N818 - control flow, not an error
    """{{break}}: leave the innermost range."""


class _ContinueSignal(Exception):  # noqa: N818 - control flow, not an error
    """{{continue}}: the innermost range's next element."""


class Template:
    """A parsed template; `execute` may run many times (one row each) with its own functions."""

    def __init__(self, text: str, name: str, nodes: list[Node], funcs: Funcs) -> None:
        self.text, self.name, self.nodes, self.funcs = text, name, nodes, funcs

    def execute(self, data: Any, funcs: Funcs | None = None) -> str:
        """The template's output for `data`; TemplateError (Go's message) when a step fails."""
        state = _State(self, {**self.funcs, **funcs} if funcs else self.funcs, data)
        state.walk(data, self.nodes)
        return "".join(state.out)


def parse(text: str, funcs: Funcs | None = None, name: str = "") -> Template:
    """Parse `text` with Go's built-in functions plus `funcs`; TemplateError(parsing=True) when it does not."""
    table: dict[str, Callable[..., Any]] = {**builtins.BUILTINS, **(funcs or {})}
    return Template(text, name, Parser(text, name, table).parse(), table)


class _State:
    """One execution: the output, the variable stack and the node being evaluated (for errors)."""

    def __init__(self, tmpl: Template, funcs: Funcs, root: Any) -> None:
        self.tmpl, self.funcs = tmpl, funcs
        self.out: list[str] = []
        self.vars: list[tuple[str, Any]] = [("$", root)]
        self.at: tuple[int, str] = (0, "")

    def error(self, message: str) -> TemplateError:
        pos, context = self.at
        text = self.tmpl.text[:pos]
        line = text.count("\n") + 1
        col = pos - (text.rfind("\n") + 1) if "\n" in text else pos
        name = self.tmpl.name
        return TemplateError(f'template: {name}:{line}:{col}: executing "{name}" at <{context}>: {message}')

    def walk(self, dot: Any, nodes: list[Node]) -> None:
        for node in nodes:
            kind = node[0]
            if kind == "text":
                self.out.append(node[1])
            elif kind == "action":
                value = self.pipe(dot, node[1])
                if not node[1][0]:
                    self.out.append(go_string(value))
            elif kind in ("if", "with"):
                self.conditional(dot, node)
            elif kind == "range":
                self.range(dot, node)
            elif kind == "break":
                raise _BreakSignal
            else:
                raise _ContinueSignal

    def scoped(self, dot: Any, nodes: list[Node]) -> None:
        mark = len(self.vars)
        try:
            self.walk(dot, nodes)
        finally:
            del self.vars[mark:]

    def conditional(self, dot: Any, node: Node) -> None:
        mark = len(self.vars)
        value = self.pipe(dot, node[1])
        try:
            if truth(value):
                self.scoped(value if node[0] == "with" else dot, node[2])
            else:
                self.scoped(dot, node[3])
        finally:
            del self.vars[mark:]

    def range(self, dot: Any, node: Node) -> None:
        mark = len(self.vars)
        decls = node[1][0]
        value = self.pipe(dot, (*node[1][:1], False, *node[1][2:]))
        items = _range_items(value, self)
        try:
            if not items:
                self.scoped(dot, node[3])
                return
            for key, elem in items:
                if len(decls) == 2:
                    self.vars.extend(((decls[0], key), (decls[1], elem)))
                elif decls:
                    self.vars.append((decls[0], elem))
                try:
                    self.scoped(elem, node[2])
                except _BreakSignal:
                    break
                except _ContinueSignal:
                    pass
                finally:
                    del self.vars[mark:]
        finally:
            del self.vars[mark:]

    def pipe(self, dot: Any, pipe: Node) -> Any:
        value: Any = MISSING
        for i, cmd in enumerate(pipe[2]):
            value = self.command(dot, cmd, value if i else None, i > 0)
        decls, assign = pipe[0], pipe[1]
        if decls and assign:
            for j in range(len(self.vars) - 1, -1, -1):
                if self.vars[j][0] == decls[0]:
                    self.vars[j] = (decls[0], value)
                    break
        elif decls:
            self.vars.append((decls[0], value))
        return value

    def command(self, dot: Any, cmd: Node, final: Any, has_final: bool) -> Any:
        args, first = cmd[0], cmd[0][0]
        extra = (*args[1:], ("final", final)) if has_final else args[1:]
        if first[0] == "ident":
            return self.call(dot, cmd, first[1], extra)
        if first[0] in ("field", "var", "chain"):
            return self.access(dot, first, extra)
        if extra:
            self.at = (first[-2] if first[0] == "lit" else first[-1], node_text(first))
            raise self.error(f"can't give argument to non-function {node_text(first)}")
        return self.arg(dot, first)

    def arg(self, dot: Any, node: Node) -> Any:
        kind = node[0]
        if kind == "final":
            return node[1]
        if kind == "lit":
            return node[1]
        if kind == "dot":
            return dot
        if kind == "nil":
            return None
        if kind == "pipe":
            mark = len(self.vars)
            try:
                return self.pipe(dot, node[1])
            finally:
                del self.vars[mark:]
        if kind == "ident":
            return self.call(dot, ([node], node[2]), node[1], ())
        return self.access(dot, node, ())

    def access(self, dot: Any, node: Node, args: tuple[Node, ...]) -> Any:
        """A field chain (`.A.B`, `$x.A`, `(p).A`); the last name is called when it is a method."""
        kind = node[0]
        if kind == "field":
            value, names = dot, node[1]
        elif kind == "var":
            value, names = self.variable(node[1][0]), node[1][1:]
        else:
            value, names = self.arg(dot, node[1]), node[2]
        self.at = (node[-1], node_text(node))
        if not names and args:
            raise self.error(f"can't give argument to non-function {node_text(node)}")
        for n, name in enumerate(names):
            value = self.field(value, name, args if n == len(names) - 1 else (), dot)
        return value

    def variable(self, name: str) -> Any:
        for var, value in reversed(self.vars):
            if var == name:
                return value
        raise self.error(f'undefined variable: {name}')

    def field(self, value: Any, name: str, args: tuple[Node, ...], dot: Any) -> Any:
        if isinstance(value, Struct) and name not in value:
            known, found = value.field(name)
            if known:
                return self.invoke(found, name, [self.arg(dot, a) for a in args]) if callable(found) else found
        if isinstance(value, Mapping):
            if name not in value:
                if isinstance(value, Struct):
                    raise self.error(f"can't evaluate field {name} in type {value.type_name}" if value.type_name
                                     else f'map has no entry for key "{name}"')
                if args:
                    raise self.error(f"{name} is not a method but has arguments")
                return MISSING
            found = value[name]
            if callable(found):
                return self.invoke(found, name, [self.arg(dot, a) for a in args])
            if args:
                raise self.error(f"{name} has arguments but cannot be invoked as function")
            return found
        if value is None or value is MISSING:
            raise self.error(f"nil pointer evaluating interface {{}}.{name}")
        raise self.error(f"can't evaluate field {name} in type {type_name(value)}")

    def invoke(self, fn: Callable[..., Any], name: str, argv: list[Any]) -> Any:
        try:
            return fn(*argv)
        except builtins.CallError as e:
            raise self.error(f"error calling {name}: {e}") from None
        except TypeError as e:
            raise self.error(f"wrong number of args for {name}: {e}") from None

    def call(self, dot: Any, cmd: Node, name: str, args: tuple[Node, ...]) -> Any:
        fn = self.funcs[name]
        if name in ("and", "or"):
            return self.logic(dot, cmd, name, args)
        argv = [self.arg(dot, a) for a in args]
        self.at = (cmd[1], command_text(cmd))
        want = builtins.arity(fn)
        if want is not None and want != len(argv):
            raise self.error(f"wrong number of args for {name}: want {want} got {len(argv)}")
        try:
            return fn(*argv)
        except builtins.ArgError as e:
            raise self.arg_error(e, args) from None
        except builtins.CallError as e:
            raise self.error(f"error calling {name}: {e}") from None

    def arg_error(self, e: builtins.ArgError, args: tuple[Node, ...]) -> TemplateError:
        """Go's words: a constant is judged where it stands, a computed value at the command."""
        node = args[e.index] if e.index < len(args) else None
        if node is None or node[0] != "lit":
            return self.error(str(e))
        self.at = (node[2], node_text(node))
        if e.expected in ("string", "int", "bool"):
            return self.error(f"expected {'integer' if e.expected == 'int' else e.expected}; found {node_text(node)}")
        return self.error(f"can't handle {node_text(node)} for arg of type {e.expected}")

    def logic(self, dot: Any, cmd: Node, name: str, args: tuple[Node, ...]) -> Any:
        """`and`/`or`: Go 1.18's short circuit (the first false / true argument, else the last)."""
        if not args:
            self.at = (cmd[1], command_text(cmd))
            raise self.error(f"wrong number of args for {name}: want at least 1 got 0")
        value: Any = None
        for a in args:
            value = self.arg(dot, a)
            if truth(value) == (name == "or"):
                return value
        return value


def _range_items(value: Any, state: _State) -> list[tuple[Any, Any]]:
    """(key, element) pairs of a range: lists by index, maps in key order, an int counts up (Go 1.22)."""
    if value is None or value is MISSING:
        return []
    if isinstance(value, Struct):
        raise state.error(f"range can't iterate over {go_string(value)}")
    if isinstance(value, Mapping):
        return [(k, value[k]) for k in sorted(value)]
    if isinstance(value, list | tuple):
        return list(enumerate(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return [(i, i) for i in range(value)]
    raise state.error(f"range can't iterate over {go_string(value)}")
