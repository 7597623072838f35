"""`NamedTuple` for the house's nouns, without `typing` at run time.

For the type checker this is `typing.NamedTuple` (re-exported: mypy sees nothing else). At run time
it is the same construction as `typing.NamedTupleMeta` in CPython 3.11 -- `collections.namedtuple`
with the class body's methods, docstring and defaults -- minus one step: typing turns every field's
annotation into a `ForwardRef`, which compiles the annotation's text (every module here has
`from __future__ import annotations`). Measured on the `run` path (55 classes): typing's import plus
those compiles cost ~6 ms of a ~48 ms `run --rm`; this module costs ~1.8 ms. Nothing in minidock reads
field annotations at run time; `__annotations__` keeps their text as written.
"""

from __future__ import annotations

__all__ = ["NamedTuple"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from collections import namedtuple as _namedtuple

    # typing's sets (CPython 3.11): names a class body may not define, and names it never copies
    _PROHIBITED = frozenset({"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
                             "_make", "_replace", "_asdict", "_source"})
    _SPECIAL = frozenset({"__module__", "__name__", "__annotations__"})

    class _NamedTupleMeta(type):
        def __new__(cls, typename, bases, ns):
            fields = tuple(ns.get("__annotations__", {}))
            defaulted = [name for name in fields if name in ns]
            if defaulted and fields[len(fields) - len(defaulted):] != tuple(defaulted):
                raise TypeError(f"{typename}: a field without a default follows one with a default")
            tpl = _namedtuple(typename, fields, defaults=[ns[name] for name in defaulted], module=ns["__module__"])
            tpl.__annotations__ = tpl.__new__.__annotations__ = dict(ns.get("__annotations__", {}))
            for base in bases:
                if base is not _NamedTupleBase:
                    raise TypeError(f"{typename}: a NamedTuple can only inherit from NamedTuple")
            for key, value in ns.items():
                if key in _PROHIBITED:
                    raise AttributeError(f"Cannot overwrite NamedTuple attribute {key}")
                if key not in _SPECIAL and key not in fields:
                    setattr(tpl, key, value)
            return tpl

    _NamedTupleBase = type.__new__(_NamedTupleMeta, "NamedTuple", (), {})

    def NamedTuple(typename, fields=(), /):  # noqa: N802 - typing's name
        """The functional form, `NamedTuple("Name", [("field", type), ...])`."""
        return _namedtuple(typename, [name for name, _ in fields])

    NamedTuple.__mro_entries__ = lambda bases: (_NamedTupleBase,)
