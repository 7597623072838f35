"""`--filter NAME=VALUE`, read once for every command that takes it, as Docker 20.10 does.

docker/cli's opts.FilterOpt reads each flag: no `=` is its flag error (exit 125, with the command's
help line); the name is trimmed and lower-cased. Its daemon then checks the names against what the
command accepts: `Error response from daemon: Invalid filter 'NAME'` (exit 1). Checked here before
anything is read, asked or removed; the values are each command's own to judge.
"""

from __future__ import annotations

from minidock.errors import FlagError
from minidock.runtime.net.netspec import daemon_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["bad_format", "checked_dangling", "daemon_error", "grouped"]


def bad_format(text: str, command: str, flag: str = "-f, --filter") -> FlagError:
    """docker/cli's error for a `--filter` that is not NAME=VALUE (exit 125)."""
    return FlagError(f'invalid argument "{text}" for "{flag}" flag: bad format of filter (expected '
                     f"name=value)\nSee 'minidock {command} --help'.")


def grouped(texts: Iterable[str], command: str, keys: Iterable[str],
            flag: str = "-f, --filter") -> dict[str, list[str]]:
    """NAME -> its values, in order; the client's and then the daemon's checks of the names."""
    out: dict[str, list[str]] = {}
    for text in texts:
        key, eq, value = text.partition("=")
        if not eq:
            raise bad_format(text, command, flag)
        out.setdefault(key.strip().lower(), []).append(value)
    known = set(keys)
    for key in out:
        if key not in known:
            raise daemon_error(f"Invalid filter '{key}'")
    return out


def checked_dangling(values: Iterable[str]) -> None:
    """`dangling=` of `images` and `volume ls`, as their daemon checks it before it lists anything."""
    for value in values:
        if value.lower() not in ("true", "false", "1", "0"):
            raise daemon_error(f"Invalid filter 'dangling=[{value}]'")
