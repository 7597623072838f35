"""Detach keys: docker/cli's key-spec syntax (`ctrl-p,ctrl-q`) and the scanner that finds the sequence
in what is typed into an attached terminal. Pure.

`to_bytes(spec)` reads a spec as moby/term.ToBytes does: comma-separated keys, each one character
or `ctrl-@`, `ctrl-a`..`ctrl-z`, `ctrl-[`, `ctrl-\\`, `ctrl-]`, `ctrl-^`, `ctrl-_`; anything else is
`ValueError("Unknown character: 'KEY'")`. `Scanner(keys).feed(data)` returns (what to pass on to
the container, whether the whole sequence was typed): keys that may begin the sequence are held
back until it is known whether they do, then passed on (moby/term's escape proxy); what follows
the sequence in the same read is dropped, as the attach ends there.
"""

from __future__ import annotations

DEFAULT = "ctrl-p,ctrl-q"
_CTRL = "@abcdefghijklmnopqrstuvwxyz[\\]^_"  # ctrl-X is byte index(X): ctrl-@ 0, ctrl-a 1, ..., ctrl-_ 31


def to_bytes(spec: str) -> bytes:
    """`ctrl-p,ctrl-q` -> b"\\x10\\x11"; ValueError with moby/term's words for a key it does not know."""
    out = bytearray()
    for key in spec.split(","):
        raw = key.encode()
        if len(raw) == 1:
            out += raw
        elif key.startswith("ctrl-") and len(key) == 6 and key[5] in _CTRL:
            out.append(_CTRL.index(key[5]))
        else:
            raise ValueError(f"Unknown character: '{key}'")
    return bytes(out)


class Scanner:
    """Finds the detach sequence in a stream of typed input, across reads."""

    __slots__ = ("held", "keys")

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = 0  # how many keys of the sequence the last bytes matched (held back)

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to pass on, detached?) for one read."""
        if not self.keys:
            return data, False
        out = bytearray()
        for byte in data:
            if byte == self.keys[self.held]:
                self.held += 1
                if self.held == len(self.keys):
                    self.held = 0
                    return bytes(out), True
                continue
            if self.held:  # not the sequence after all: the held keys go on, in order
                out += self.keys[:self.held]
                self.held = 0
                if byte == self.keys[0]:
                    self.held = 1
                    continue
            out.append(byte)
        return bytes(out), False
