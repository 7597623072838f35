"""The command a container runs: found in the container's PATH as runc finds it, and a failed execve
in Docker's words (ChildError kind "notfound" exits 127, "noinvoke" 126). Used by the container's
init and by exec, inside the container (after pivot_root / setns): stdlib only, imported before."""

from __future__ import annotations

import errno
import os
import stat

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ChildError(Exception):
    """A failure with a kind the parent maps to an error class ("notfound" 127, "noinvoke" 126)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def lookup(argv0: str, path_var: str) -> str:
    """The file `argv0` names, searched in `path_var` (inside the container, like runc and Go's LookPath)."""
    if "/" in argv0:
        if not os.path.exists(argv0):
            raise ChildError("notfound", f'exec: "{argv0}": stat {argv0}: no such file or directory')
        return argv0
    for d in path_var.split(":"):
        cand = os.path.join(d or ".", argv0)
        try:
            st = os.stat(cand)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) and st.st_mode & 0o111:
            return cand
    raise ChildError("notfound", f'exec: "{argv0}": executable file not found in $PATH')


def exec_failure(path: str, e: OSError) -> ChildError:
    """Docker's words for a failed execve: 127 for a missing file/interpreter, 126 otherwise."""
    if e.errno == errno.ENOENT:
        interp = _shebang(path)
        if interp is not None and interp.endswith("\r"):
            shown = interp.replace("\r", "\\r")
            return ChildError("notfound", f'exec {path}: interpreter "{shown}" not found (CRLF line endings?)')
        if interp is not None:
            return ChildError("notfound", f'exec {path}: interpreter "{interp}" not found')
        return ChildError("notfound", f"exec {path}: no such file or directory")
    text = (e.strerror or str(e)).lower()
    return ChildError("noinvoke", f"exec {path}: {text}")


def _shebang(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    line = head[2:].split(b"\n", 1)[0].decode(errors="replace").lstrip(" \t")
    return line.split(" ", 1)[0].split("\t", 1)[0]
