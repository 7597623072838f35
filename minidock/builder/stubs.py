"""Mount stubs: the empty files and directories the runtime makes for a RUN container's mount points.

BuildKit's rule (its executor's mount stub cleaner): a mount target missing from the image is
created by the runtime, with its missing parents, in the layer's upper dir. `find_stubs()`, before
the run, lists those paths; `remove_stubs()`, after it, removes the ones still empty, and drops a
parent directory that only got copied up because of them (empty in the upper, same mode and owner
as below, not opaque), so mount points never show up in the layer. For `RUN --mount` targets
Docker 20.10 (BuildKit 0.8) is less tidy, and `remove_file_stubs()` does as it does: a file mount
point goes, directory mount points and the parents made for any mount point stay in the layer.
"""

import os
import posixpath
import stat
from collections.abc import Iterable

from minidock.builder.rootfs import LayeredFS, split
from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _typeshed import StrPath

_OPAQUE_XATTR = "trusted.overlay.opaque"


class Stubs(NamedTuple):
    """Container paths the mounts will create (`created`) and the existing directories they go in."""

    created: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()


def find_stubs(view: LayeredFS, targets: Iterable[str]) -> Stubs:
    """What mounting `targets` on the image `view` shows will create (each target's missing components)."""
    created: set[str] = set()
    parents: set[str] = set()
    for target in targets:
        parts = split(view.canonical(target))
        for i in range(1, len(parts) + 1):
            if view.resolve("/" + "/".join(parts[:i]), follow_last=False) is None:
                created.update("/" + "/".join(parts[:j]) for j in range(i, len(parts) + 1))
                if i > 1:
                    parents.add("/" + "/".join(parts[: i - 1]))
                break
    return Stubs(tuple(sorted(created)), tuple(sorted(parents)))


def _depth(path: str) -> int:
    return len(split(path))


def remove_stubs(upper: "StrPath", view: LayeredFS, stubs: Stubs) -> None:
    """Remove still-empty stubs from `upper`, then parent directories copied up only for them."""
    for path in sorted(stubs.created, key=_depth, reverse=True):
        host = os.path.join(upper, path.lstrip("/"))
        try:
            st = os.lstat(host)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and not os.listdir(host):
            os.rmdir(host)
        elif stat.S_ISREG(st.st_mode) and st.st_size == 0:
            os.unlink(host)
    todo = set(stubs.parents)
    while todo:
        path = max(todo, key=_depth)
        todo.discard(path)
        if _drop_copy_up(upper, view, path) and _depth(path) > 1:
            todo.add(posixpath.dirname(path))


def remove_file_stubs(upper: "StrPath", stubs: Stubs, targets: Iterable[str]) -> None:
    """Remove the empty files made as mount points for `targets` (Docker 20.10 removes a file mount's
    point but keeps directory mount points and the parents made for either)."""
    for path in set(stubs.created).intersection(targets):
        host = os.path.join(upper, path.lstrip("/"))
        try:
            st = os.lstat(host)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_size == 0:
            os.unlink(host)


def _drop_copy_up(upper: "StrPath", view: LayeredFS, path: str) -> bool:
    """Remove the upper's copy of directory `path` when it adds nothing to the lower one."""
    host = os.path.join(upper, path.lstrip("/"))
    below = view.resolve(path, follow_last=False)
    try:
        st = os.lstat(host)
        if below is None or not stat.S_ISDIR(st.st_mode) or os.listdir(host):
            return False
        if _opaque(host):
            return False
    except OSError:
        return False
    low = below[2]
    if (st.st_mode, st.st_uid, st.st_gid) != (low.st_mode, low.st_uid, low.st_gid):
        return False
    os.rmdir(host)
    return True


def _opaque(host: str) -> bool:
    try:
        return os.getxattr(host, _OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False
