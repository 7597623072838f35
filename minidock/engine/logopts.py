"""`--log-opt` for the json-file driver: what `run` checks and records (the writer is in logs.py)."""

from __future__ import annotations

from minidock.errors import UsageError
from minidock.nouns import NamedTuple

DEFAULT_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_MAX_FILE = 3


class LogOptions(NamedTuple):
    """`--log-opt max-size=10m --log-opt max-file=3` (comma-separated lists accepted too)."""

    max_size: int = DEFAULT_MAX_SIZE
    max_file: int = DEFAULT_MAX_FILE

    @classmethod
    def parse(cls, opts: tuple[str, ...] | list[str]) -> LogOptions:
        from minidock.runtime.cgroups import parse_bytes

        size, files = DEFAULT_MAX_SIZE, DEFAULT_MAX_FILE
        for item in (p for o in opts for p in o.split(",") if p):
            key, eq, value = item.partition("=")
            if not eq or not value:
                raise UsageError(f"invalid log option {item!r}: want KEY=VALUE")
            if key == "max-size":
                size = -1 if value == "-1" else parse_bytes(value)
                if size == 0:
                    raise UsageError(f"invalid log option {item!r}: max-size must be positive")
            elif key == "max-file":
                if not value.isdigit() or int(value) < 1:
                    raise UsageError(f"invalid log option {item!r}: max-file must be a positive integer")
                files = int(value)
            else:
                raise UsageError(f"unknown log option {key!r} for the json-file log driver")
        return cls(size, files)

    def to_json(self) -> dict[str, str]:
        return {"max-size": str(self.max_size), "max-file": str(self.max_file)}
