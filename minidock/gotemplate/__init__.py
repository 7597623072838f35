"""Go's text/template (the subset Docker's `--format` uses), pure: text in, text out, no I/O.

    tmpl = parse("{{range .Names}}{{upper .}} {{end}}")     # TemplateError on a syntax error
    tmpl.execute({"Names": ["a", "b"]}, funcs)              # "A B "; TemplateError on a bad field

Supported: text and actions with `{{-`/`-}}` trimming and `{{/* comments */}}`; fields and chains
(`.A.B`, `$x.A`, `(pipeline).A`); variables (`$x := p`, `$x = p`, `range $i, $e := p`, `$`);
pipelines (`p | f a`); literals (strings, raw strings, chars, numbers, true/false/nil);
`if`/`else if`/`else`, `range` (lists, maps in key order, `else`, `break`, `continue`),
`with`/`else with`/`else`; Go's functions (and or not len index slice print printf println eq ne
lt le gt ge html urlquery) plus whatever `funcs` adds (Docker's: cli/formatting.py).
Not supported: `define`/`template`/`block` (parse error naming them) and `call`.

Values are Python data: str, int, float, bool, None, list, dict (Go's map: a missing key prints
`<no value>`), `Struct` (Go's struct: a missing field is an error) and callables (Go's methods,
called with the field's arguments). Messages follow Go's: `template: NAME:LINE: ...` for syntax,
`template: NAME:LINE:COL: executing "NAME" at <NODE>: ...` for execution.
Why a package of its own: it knows nothing of minidock (only the error tree), so any layer may
render with it; an import contract keeps it that way.
"""

from __future__ import annotations

from minidock.gotemplate.values import MISSING, NIL, Struct, TemplateError, go_string

TYPE_CHECKING = False
if TYPE_CHECKING:
    from minidock.gotemplate.exec import Template, parse
else:
    def __getattr__(name: str) -> object:
        """`parse` and `Template` load the parser on first use: building Structs needs none of it."""
        if name in ("parse", "Template"):
            from minidock.gotemplate import exec as module

            return getattr(module, name)
        raise AttributeError(name)

__all__ = ["MISSING", "NIL", "Struct", "Template", "TemplateError", "go_string", "parse"]
