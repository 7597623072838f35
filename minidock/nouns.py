"""`NamedTuple` for the house's nouns, without `typing` at run time.

For the type checker this is `typing.NamedTuple` (re-exported: mypy sees nothing else). At run time a
noun is what `typing.NamedTuple` makes in CPython 3.11 -- a tuple subclass with one read-only property
per field, `_fields`, `_field_defaults`, `_make`, `_replace`, `_asdict`, `__match_args__`, the class
body's methods and docstring -- built differently: typing compiles every field's annotation into a
`ForwardRef` (every module here has `from __future__ import annotations`, so each is text) and
`collections.namedtuple` compiles a `__new__` per class with `eval`. Here the annotations stay text
and one shared `__new__` binds arguments. Measured on the `run` path (55 classes): typing's import and
those compiles cost ~6 ms of a ~48 ms `run --rm`; this costs ~0.5 ms (a construction with keywords
is ~0.5 us slower). Nothing in minidock reads field annotations at run time.
"""

from __future__ import annotations

__all__ = ["NamedTuple"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from operator import itemgetter as _itemgetter

    # typing's sets (CPython 3.11): names a class body may not define, and names it never copies
    _PROHIBITED = frozenset({"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
                             "_make", "_replace", "_asdict", "_source"})
    _SPECIAL = frozenset({"__module__", "__name__", "__annotations__"})
    _tuple_new = tuple.__new__

    class _Noun(tuple):
        """What every noun shares (collections.namedtuple puts the same methods on each class)."""

        __slots__ = ()
        _fields: tuple[str, ...] = ()
        _field_defaults: dict[str, object] = {}

        def __new__(cls, *args, **kwargs):
            fields = cls._fields
            if len(args) == len(fields) and not kwargs:
                return _tuple_new(cls, args)
            if len(args) > len(fields):
                raise TypeError(f"{cls.__name__}() takes {len(fields)} positional arguments but {len(args)} were given")
            values = list(args)
            defaults = cls._field_defaults
            for name in fields[len(args):]:
                if name in kwargs:
                    values.append(kwargs.pop(name))
                elif name in defaults:
                    values.append(defaults[name])
                else:
                    raise TypeError(f"{cls.__name__}() missing required argument: {name!r}")
            for name in kwargs:
                what = "multiple values for" if name in fields else "an unexpected keyword"
                raise TypeError(f"{cls.__name__}() got {what} argument {name!r}")
            return _tuple_new(cls, values)

        @classmethod
        def _make(cls, iterable):
            result = _tuple_new(cls, iterable)
            if len(result) != len(cls._fields):
                raise TypeError(f"Expected {len(cls._fields)} arguments, got {len(result)}")
            return result

        def _replace(self, /, **kwargs):
            result = self._make(map(kwargs.pop, self._fields, self))
            if kwargs:
                raise ValueError(f"Got unexpected field names: {list(kwargs)!r}")
            return result

        def __repr__(self):
            fields = ", ".join(f"{n}={v!r}" for n, v in zip(self._fields, self, strict=True))
            return f"{self.__class__.__name__}({fields})"

        def _asdict(self):
            return dict(zip(self._fields, self, strict=True))

        def __getnewargs__(self):
            return tuple(self)

    class _NamedTupleMeta(type):
        def __new__(cls, typename, bases, ns):
            for base in bases:
                if base is not _NamedTupleBase:
                    raise TypeError(f"{typename}: a NamedTuple can only inherit from NamedTuple")
            annotations = dict(ns.get("__annotations__", {}))
            fields = tuple(annotations)
            defaulted = [name for name in fields if name in ns]
            if defaulted and fields[len(fields) - len(defaulted):] != tuple(defaulted):
                raise TypeError(f"{typename}: a field without a default follows one with a default")
            body = {"__slots__": (), "__module__": ns["__module__"], "__annotations__": annotations,
                    "__doc__": f"{typename}({', '.join(fields)})", "_fields": fields, "__match_args__": fields,
                    "_field_defaults": {name: ns[name] for name in defaulted}}
            for i, name in enumerate(fields):
                body[name] = property(_itemgetter(i), doc=f"Alias for field number {i}")
            for key, value in ns.items():
                if key in _PROHIBITED:
                    raise AttributeError(f"Cannot overwrite NamedTuple attribute {key}")
                if key not in _SPECIAL and key not in fields:
                    body[key] = value
            return type.__new__(type, typename, (_Noun,), body)

    _NamedTupleBase = type.__new__(_NamedTupleMeta, "NamedTuple", (), {})

    def NamedTuple(typename, fields=(), /):  # noqa: N802 - typing's name
        """The functional form, `NamedTuple("Name", [("field", type), ...])`."""
        return _NamedTupleMeta(typename, (_NamedTupleBase,), {"__module__": __name__,
                                                              "__annotations__": dict(fields)})

    NamedTuple.__mro_entries__ = lambda bases: (_NamedTupleBase,)
