"""minidock.nouns.NamedTuple behaves as typing.NamedTuple does for the nouns (run time, not typing)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from minidock.nouns import NamedTuple


class Point(NamedTuple):
    """A point."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = ()

    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)

    @classmethod
    def origin(cls) -> Point:
        return cls(0)


class TypingPoint(typing.NamedTuple):
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


def test_same_shape_as_typing() -> None:
    p, t = Point(1, tags=("a",)), TypingPoint(1, tags=("a",))
    assert tuple(p) == tuple(t) == (1, 0, ("a",))
    assert Point._fields == TypingPoint._fields
    assert Point._field_defaults == TypingPoint._field_defaults
    assert repr(p) == "Point(x=1, y=0, tags=('a',))"
    assert p._replace(y=5) == Point(1, 5, ("a",))
    assert p._asdict() == t._asdict()
    assert Point._make([3, 4, ()]) == (3, 4, ())
    assert isinstance(p, tuple) and not hasattr(p, "__dict__")
    assert Point.__match_args__ == ("x", "y", "tags")


def test_body_is_kept() -> None:
    assert Child("a").shout() == "Child(name='a')!"
    assert Point(1, tags=("t",)) == Point(x=1, tags=("t",), y=0)
    assert Point(-2, 3).norm1() == 5
    assert Point.origin() == (0, 0, ())
    assert Point.__doc__ == "A point."
    assert Point.__module__ == __name__ and Point.__qualname__ == "Point"
    assert pickle.loads(pickle.dumps(Point(1, 2))) == Point(1, 2)


class Child(NamedTuple):
    name: str

    def shout(self) -> str:
        return f"{super().__repr__()}!"


def test_errors_as_typing() -> None:
    for bad in (Point, lambda: Point(1, 2, (), 4), lambda: Point(1, x=2), lambda: Point(1, z=3)):
        with pytest.raises(TypeError):
            bad()
    with pytest.raises(TypeError):
        Point._make([1])
    with pytest.raises(ValueError):
        Point(1)._replace(z=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        class Bad(NamedTuple):  # type: ignore[misc]
            a: int = 0
            b: int
    with pytest.raises(AttributeError):
        class Worse(NamedTuple):
            a: int

            def _replace(self) -> None:  # type: ignore[override]
                pass


def test_functional_form() -> None:
    pair = NamedTuple("Pair", [("a", int), ("b", str)])
    assert pair._fields == ("a", "b") and pair(1, b="x") == (1, "x") and pair.__name__ == "Pair"


def test_no_typing_at_run_time() -> None:
    code = "import sys, minidock.nouns; print('typing' in sys.modules)"
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(Path(__file__).parents[1])})
    assert out.stdout.strip() == "False"
