"""A child process rooted in a container's file system (for `cp`): the running container's own mount
namespace, or, for a stopped one, a private namespace with its root and volumes mounted again.

Lifecycle: `run_in_root(target, work)` forks; the child enters the file system, chroots into it and
calls `work()`, whose return value is its exit status; an error's message reaches the parent over
a pipe and is returned with the status. The mounts of a stopped container live
only in the child's namespace: they vanish with it.

why a child at all: the container's paths (symlinks included) must resolve inside its root, which
only chroot (or the container's namespace) gives; and nothing the container holds may run here:
every module `work` needs is imported by the caller first, and the child's import path is emptied
before it enters, so no Python file of the container's can be imported into a root process.
"""

import os
import sys
import tarfile
from collections.abc import Callable

from minidock.errors import MinidockError
from minidock.nouns import NamedTuple
from minidock.oci.runtimespec import Mount
from minidock.runtime import syscalls as sc


class FsTarget(NamedTuple):
    """Where a container's files are: its init's pid while it runs, else its mounts and a scratch dir."""

    pid: int = 0
    rootfs: tuple[Mount, ...] = ()
    binds: tuple[Mount, ...] = ()
    scratch: str = ""


def _enter(target: FsTarget) -> None:
    if target.pid:
        fd = os.open(f"/proc/{target.pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        sc.setns(fd, sc.CLONE_NEWNS)  # why: also moves our root and cwd to the namespace's root
        os.close(fd)
        os.chdir("/")
        return
    from minidock.runtime.explain import NullTracer
    from minidock.runtime.rootfs import mount_one, mount_rootfs, secure_join

    sc.unshare(sc.CLONE_NEWNS)
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)  # why: nothing mounted here reaches the host
    mount_rootfs(target.scratch, target.rootfs, NullTracer())
    for m in target.binds:
        mount_one(m._replace(options=tuple(o for o in m.options if o != "copyup")),
                  secure_join(target.scratch, m.destination))
    os.chroot(target.scratch)
    os.chdir("/")


class ChildResult(NamedTuple):
    """How the child ended: its exit status and the message of the error that ended it ("" if none)."""

    code: int
    message: str


def run_in_root(target: FsTarget, work: Callable[[], int], alongside: Callable[[], None],
                fds: tuple[int, int]) -> ChildResult:
    """Run `work()` in a child rooted in the container's file system while `alongside()` runs here.

    `fds` = (the child's end, our end) of the caller's data pipe: each side closes the other's after
    the fork, so either sees end-of-file when its peer is done. An error of `alongside` is raised
    unless the child failed first (then the child's message, the cause, is what the result says)."""
    child_fd, our_fd = fds
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(r)
        os.close(our_fd)
        code = 1
        try:
            sys.path[:] = []  # why: see the module docstring
            _enter(target)
            code = work()
        except (MinidockError, OSError, ValueError, EOFError, tarfile.TarError) as e:
            os.write(w, (str(e) or type(e).__name__).encode()[:4000])
        finally:
            os._exit(code)
    os.close(w)
    os.close(child_fd)
    failure: BaseException | None = None
    try:
        alongside()
    except (MinidockError, OSError, ValueError, EOFError, tarfile.TarError) as e:
        failure = e
    finally:
        os.close(our_fd)
        with os.fdopen(r, "rb") as f:
            message = f.read().decode(errors="replace")
        _, status = os.waitpid(pid, 0)
    if failure is not None and not message:
        raise failure
    return ChildResult(os.waitstatus_to_exitcode(status), message)
