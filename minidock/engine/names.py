"""Docker-style random container names (adjective_scientist)."""

from __future__ import annotations

import os

_ADJECTIVES = ("admiring", "bold", "brave", "clever", "eager", "elegant", "festive", "focused", "gentle",
               "happy", "hopeful", "jolly", "keen", "kind", "lucid", "modest", "nifty", "quirky", "relaxed",
               "serene", "sharp", "stoic", "tender", "vibrant", "wizardly", "zealous")
_NAMES = ("babbage", "bell", "curie", "darwin", "dijkstra", "einstein", "euler", "feynman", "gauss", "hopper",
          "hypatia", "kepler", "knuth", "lamarr", "liskov", "lovelace", "mccarthy", "meitner", "newton",
          "noether", "pike", "ritchie", "shannon", "thompson", "torvalds", "turing", "wozniak")


def random_name() -> str:
    a, b = os.urandom(2)
    return f"{_ADJECTIVES[a % len(_ADJECTIVES)]}_{_NAMES[b % len(_NAMES)]}"
