"""Docker-style random container names (adjective_scientist)."""

from __future__ import annotations

import os

_ADJECTIVES = ("admiring", "bold", "brave", "clever", "eager", "elegant", "festive", "focused", "gentle",
               "happy", "hopeful", "jolly", "keen", "kind", "lucid", "modest", "nifty", "quirky", "relaxed",
               "serene", "sharp", "stoic", "tender", "vibrant", "wizardly", "zealous")
_NAMES = ("babbage", "bell", "curie", "darwin", "dijkstra", "einstein", "euler", "feynman", "gauss", "hopper",
          "hypatia", "kepler", "knuth", "lamarr", "liskov", "lovelace", "mccarthy", "meitner", "newton",
          "noether", "pike", "ritchie", "shannon", "thompson", "torvalds", "turing", "wozniak")


def random_name(retry: int = 0) -> str:
    """adjective_scientist; from the second try on (`retry` > 0) with a digit appended, as Docker's
    namesgenerator.GetRandomName does when the name it drew first was taken."""
    a, b, c = os.urandom(3)
    return f"{_ADJECTIVES[a % len(_ADJECTIVES)]}_{_NAMES[b % len(_NAMES)]}" + (str(c % 10) if retry else "")
