"""Random container names: a name that is taken is drawn again, as Docker's daemon does."""

from __future__ import annotations

import pytest

from minidock.engine import containers
from minidock.engine.names import random_name
from minidock.errors import ConflictError
from minidock.store.ctrrecord import ContainerRecord


class TakenStore:
    """A ContainerStore stand-in whose first `taken` creates find the name in use."""

    def __init__(self, taken: int) -> None:
        self.taken, self.names = taken, []

    def create(self, record: ContainerRecord) -> ContainerRecord:
        self.names.append(record.name)
        if len(self.names) <= self.taken:
            raise ConflictError(f'container name "/{record.name}" is already in use')
        return record


def _record(name: str) -> ContainerRecord:
    return ContainerRecord(id="ab" * 32, name=name, image="x", image_id="", created="")


def test_a_taken_random_name_is_drawn_again_with_a_digit_then_the_short_id() -> None:
    store = TakenStore(taken=2)
    got = containers._reserve(store, _record(random_name()), named=False)  # type: ignore[arg-type]
    assert got.name == store.names[2] and len(store.names) == 3
    assert got.name[-1].isdigit() and not store.names[0][-1].isdigit()
    store = TakenStore(taken=6)
    assert containers._reserve(store, _record(random_name()), named=False).name == "ab" * 6  # type: ignore[arg-type]
    assert len(store.names) == 7


def test_a_given_name_that_is_taken_is_an_error() -> None:
    with pytest.raises(ConflictError):
        containers._reserve(TakenStore(taken=1), _record("mine"), named=True)  # type: ignore[arg-type]
