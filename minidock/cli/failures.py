"""How failures that are not MinidockErrors reach the user: one line, never a traceback."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # why: no collections import at run time (every quick command imports this module)
    from collections.abc import Callable


def os_failure(e: OSError) -> int:
    """An OSError from the store or the kernel as one `minidock: ...` line; exit code 125."""
    what = (e.strerror or str(e)).lower()
    where = f": {e.filename}" if e.filename else ""
    import errno  # lazily: failures are rare, every quick command imports this module

    hint = " (minidock needs root)" if e.errno in (errno.EACCES, errno.EPERM) and os.geteuid() != 0 else ""
    print(f"minidock: {what}{where}{hint}", file=sys.stderr)
    return 125


def needs_root(command: str) -> int | None:
    """125 with a clear line when a container command is run without root; None when root."""
    if os.geteuid() == 0:
        return None
    print(f"minidock: {command}: must be run as root (namespaces, overlay mounts and cgroups need it)",
          file=sys.stderr)
    return 125


def unexpected(e: BaseException) -> int:
    """A bug: one line naming the exception; the traceback with MINIDOCK_DEBUG=1."""
    if os.environ.get("MINIDOCK_DEBUG"):
        raise e
    print(f"minidock: internal error: {type(e).__name__}: {e} (MINIDOCK_DEBUG=1 shows the traceback)",
          file=sys.stderr)
    return 125


def guarded(command: Callable[[], int], failure: int = 125) -> int:
    """Run one command body; every failure ends as one stderr line and its exit code.

    `failure` is the code of a MinidockError that carries only the default 125: Docker's `run` and
    `create` exit 125 when they fail, every other command 1 (flag errors are 125 everywhere)."""
    from minidock.errors import MinidockError

    try:
        return command()
    except MinidockError as e:
        print(str(e) if e.bare else f"minidock: {e}", file=sys.stderr)
        return failure if e.exit_code == 125 and not e.bare else e.exit_code
    except KeyboardInterrupt:
        return 130
    except OSError as e:
        return os_failure(e)
    except Exception as e:  # noqa: BLE001 - a bug still ends in one line (MINIDOCK_DEBUG=1: traceback)
        return unexpected(e)
