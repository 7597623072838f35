"""The container's file system view: rootfs mount, spec mounts, /dev, pivot_root, masks, read-only paths.

Runs in the container's init (PID 1, its own mount namespace), in this order: `make_private`,
`mount_rootfs`, `mount_all` (a mount of type "cgroup" becomes the container's /sys/fs/cgroup as
its `CgroupView` says: see cgroupview.py), `populate_dev` -> (console) -> `pivot` -> `mask_paths`,
`readonly_paths`, `readonly_root`. Paths inside the container are resolved with `secure_join` so
a symlink in an image cannot point a mount outside the root. `parse_options` is pure.
Command texts for --explain are functions handed to the tracer: only an enabled tracer builds them.
"""

from __future__ import annotations

import os
import stat

from minidock.nouns import NamedTuple
from minidock.runtime import syscalls as sc
from minidock.runtime.cgroupview import CgroupView, mount_cgroups

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from minidock.oci.runtimespec import Device, Mount
    from minidock.runtime.explain import Tracer

_FLAGS: dict[str, tuple[bool, int]] = {  # option -> (clear?, flag)
    "ro": (False, sc.MS_RDONLY), "rw": (True, sc.MS_RDONLY), "nosuid": (False, sc.MS_NOSUID),
    "suid": (True, sc.MS_NOSUID), "nodev": (False, sc.MS_NODEV), "dev": (True, sc.MS_NODEV),
    "noexec": (False, sc.MS_NOEXEC), "exec": (True, sc.MS_NOEXEC), "sync": (False, sc.MS_SYNCHRONOUS),
    "async": (True, sc.MS_SYNCHRONOUS), "dirsync": (False, sc.MS_DIRSYNC), "remount": (False, sc.MS_REMOUNT),
    "mand": (False, sc.MS_MANDLOCK), "nomand": (True, sc.MS_MANDLOCK),
    "bind": (False, sc.MS_BIND), "rbind": (False, sc.MS_BIND | sc.MS_REC),
    "relatime": (False, sc.MS_RELATIME), "norelatime": (True, sc.MS_RELATIME),
    "strictatime": (False, sc.MS_STRICTATIME), "nostrictatime": (True, sc.MS_STRICTATIME),
    "noatime": (False, sc.MS_NOATIME), "atime": (True, sc.MS_NOATIME),
    "nodiratime": (False, sc.MS_NODIRATIME), "diratime": (True, sc.MS_NODIRATIME), "defaults": (False, 0),
}
_PROPAGATION: dict[str, int] = {
    "private": sc.MS_PRIVATE, "rprivate": sc.MS_PRIVATE | sc.MS_REC,
    "shared": sc.MS_SHARED, "rshared": sc.MS_SHARED | sc.MS_REC,
    "slave": sc.MS_SLAVE, "rslave": sc.MS_SLAVE | sc.MS_REC,
    "unbindable": sc.MS_UNBINDABLE, "runbindable": sc.MS_UNBINDABLE | sc.MS_REC,
}
# (name, major, minor): the devices every container gets (runc's default list)
DEVICES: tuple[tuple[str, int, int], ...] = (
    ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
)
DEV_LINKS: tuple[tuple[str, str], ...] = (
    ("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("core", "/proc/kcore"),
)


class MountArgs(NamedTuple):
    """A Mount's options split the way mount(2) wants them."""

    flags: int
    propagation: tuple[int, ...]
    data: str

    @property
    def is_bind(self) -> bool:
        return bool(self.flags & sc.MS_BIND)


def parse_options(options: Iterable[str]) -> MountArgs:
    """Split mount options into flags, propagation changes and the fs-specific data string."""
    flags, prop, data = 0, [], []
    for o in options:
        if o in _FLAGS:
            clear, f = _FLAGS[o]
            flags = flags & ~f if clear else flags | f
        elif o in _PROPAGATION:
            prop.append(_PROPAGATION[o])
        else:
            data.append(o)
    return MountArgs(flags, tuple(prop), ",".join(data))


def secure_join(root: str, path: str) -> str:
    """`root`/`path` with every symlink resolved as if `root` were `/` (never escapes `root`)."""
    todo = [p for p in path.split("/") if p][::-1]
    done: list[str] = []
    links = 0
    while todo:
        part = todo.pop()
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        full = os.path.join(root, *done, part)
        if not os.path.islink(full):
            done.append(part)
            continue
        links += 1
        if links > 255:
            raise OSError(40, f"too many levels of symbolic links: {path}", path)
        target = os.readlink(full)
        if target.startswith("/"):
            done = []
        todo.extend([p for p in target.split("/") if p][::-1])
    return os.path.join(root, *done)


def shell_of(m: Mount, target: str) -> str:
    """The mount(8) command that does what `m` does."""
    opts = f" -o {','.join(m.options)}" if m.options else ""
    if m.type == "bind" or "bind" in m.options or "rbind" in m.options:
        kind = "--rbind" if "rbind" in m.options else "--bind"
        return f"mount {kind}{opts} {m.source} {target}"
    return f"mount -t {m.type}{opts} {m.source or 'none'} {target}"


def make_private(tracer: Tracer) -> None:
    """Stop mount events propagating to the host (and from it)."""
    with tracer.step("make / private recursively", "mount --make-rprivate /"):
        sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)


def mount_rootfs(root: str, mounts: Iterable[Mount], tracer: Tracer) -> None:
    """Build the root file system at `root` (the overlay); a plain directory is bound onto itself."""
    any_mount = False
    for m in mounts:
        target = root if m.destination in ("", "/") else secure_join(root, m.destination)
        with tracer.step(f"mount the root file system ({m.type})", shell_of, m, target):
            if "volatile" in m.options:
                _forget_volatile(m.options)
            mount_one(m, target)
        any_mount = True
    if not any_mount:  # pivot_root needs the new root to be a mount point
        with tracer.step("bind the root directory onto itself", f"mount --rbind {root} {root}"):
            sc.mount(root, root, None, sc.MS_BIND | sc.MS_REC)


def _forget_volatile(options: Iterable[str]) -> None:
    """A volatile overlay leaves `work/incompat/volatile` in its workdir and refuses to mount again
    while it is there (the upper may be inconsistent after a crash). An upper that is thrown away
    after its container (`run --rm`) is fine either way: remove the mark (as containers/storage does)."""
    for opt in options:
        if opt.startswith("workdir="):
            mark = os.path.join(opt[len("workdir="):], "work", "incompat", "volatile")
            try:
                for name in os.listdir(mark):  # the kernel leaves one entry there: dirty
                    try:
                        os.unlink(os.path.join(mark, name))
                    except IsADirectoryError:
                        os.rmdir(os.path.join(mark, name))
                os.rmdir(mark)
            except FileNotFoundError:
                pass


def _make_target(source: str, target: str, is_bind: bool) -> None:
    """An empty file (the bind of a file) or a directory at `target`, unless something is there.

    Tried first, checked after: one syscall in the usual cases (missing, or already a directory)."""
    if is_bind and not os.path.isdir(source):
        _make_file(target)
        return
    try:
        os.mkdir(target)
    except FileExistsError:
        if not os.path.isdir(target):
            raise
    except FileNotFoundError:
        os.makedirs(target, exist_ok=True)


def _make_file(target: str) -> None:
    """Create `target` empty (parents too); whatever is already there, even a dangling link, stays."""
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC
    try:
        os.close(os.open(target, flags, 0o644))
    except FileExistsError:
        return
    except (FileNotFoundError, NotADirectoryError):  # the parent is missing (or, an error now, a file)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.close(os.open(target, flags, 0o644))
        except FileExistsError:
            pass


def mount_one(m: Mount, target: str) -> None:
    """mount(2) `m` on `target` (creating it): bind + ro needs a second, remount call.

    `copyup` (minidock's option, for volumes): an empty source directory is first filled with
    what `target` holds in the root file system (runtime/copyup.py)."""
    args = parse_options(o for o in m.options if o != "copyup")
    is_bind = args.is_bind or m.type == "bind"
    if "copyup" in m.options:
        from minidock.runtime.copyup import copy_up

        copy_up(target, m.source)
    _make_target(m.source, target, is_bind)
    if is_bind:
        flags = args.flags | sc.MS_BIND
        if not (m.source.startswith("/proc/") and _bind_from(m.source, target)):
            sc.mount(m.source, target, None, flags & ~sc.MS_RDONLY, None)
        extra = flags & ~(sc.MS_BIND | sc.MS_REC | sc.MS_REMOUNT)
        if extra:  # the bind itself ignores other flags: apply them to the new mount point
            sc.mount(None, target, None, extra | sc.MS_BIND | sc.MS_REMOUNT, None)
    else:
        sc.mount(m.source or m.type, target, m.type, args.flags, args.data or None)
    for p in args.propagation:
        sc.mount(None, target, None, p, None)


def _bind_from(source: str, target: str) -> bool:
    """A bind of `/proc/PID/root/PATH`: another container's mount (--ipc container:NAME); False: not one."""
    from minidock.runtime.crossns import bind_from  # why: only such a bind needs it (before pivot_root)

    return bind_from(source, target)


def mount_all(root: str, mounts: Iterable[Mount], tracer: Tracer, cgroups: CgroupView | None = None) -> None:
    """The spec's mounts (proc, sysfs, /dev tmpfs, devpts, cgroup, volumes, ...) under `root`, in order."""
    for m in mounts:
        target = secure_join(root, m.destination)
        if m.type == "cgroup":  # why: not one mount but a view of the container's own groups
            _make_target("", target, False)
            mount_cgroups(m, target, parse_options(m.options).flags, cgroups or CgroupView(0), tracer)
            continue
        with tracer.step(f"mount {m.destination} ({m.type})", shell_of, m, target):
            mount_one(m, target)


def populate_dev(root: str, tracer: Tracer, extra: Iterable[Device] = ()) -> None:
    """Device nodes and the usual /dev symlinks in the container's fresh /dev tmpfs, then the
    spec's own devices (--device, --privileged) with the host node's mode and owner."""
    dev = os.path.join(root, "dev")
    with tracer.step("create /dev nodes and links", _mknod_shell):
        old = os.umask(0)
        try:
            for name, major, minor in DEVICES:
                os.mknod(os.path.join(dev, name), stat.S_IFCHR | 0o666, os.makedev(major, minor))
        finally:
            os.umask(old)
        for name, target in DEV_LINKS:
            try:
                os.symlink(target, os.path.join(dev, name))
            except FileExistsError:  # a mount may already be there: it stays
                pass
    extra = tuple(extra)
    if extra:
        with tracer.step(f"create {len(extra)} device nodes (--device)", _device_shell, extra):
            for d in extra:
                make_device(root, d)


def make_device(root: str, d: Device) -> None:
    """mknod one device inside `root` (parents made; an existing node stays, as runc)."""
    target = secure_join(root, d.path)
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    kind = stat.S_IFBLK if d.type == "b" else stat.S_IFCHR
    try:
        os.mknod(target, kind | (d.file_mode & 0o7777), os.makedev(d.major, d.minor))
    except FileExistsError:
        return
    os.chmod(target, d.file_mode & 0o7777)  # why: mknod's mode passes through the umask
    os.chown(target, d.uid, d.gid)


def _device_shell(extra: tuple[Device, ...]) -> str:
    return "; ".join(f"mknod -m {d.file_mode & 0o7777:o} {d.path} {d.type} {d.major} {d.minor}" for d in extra)


def _mknod_shell() -> str:
    return "; ".join(f"mknod -m 666 /dev/{n} c {a} {b}" for n, a, b in DEVICES)


def bind_console(root: str, slave_path: str, tracer: Tracer) -> None:
    """Make the container's /dev/console its pty (what a login sees as the system console)."""
    target = os.path.join(root, "dev/console")
    with tracer.step("bind the pty onto /dev/console", f"mount --bind {slave_path} /dev/console"):
        if not os.path.lexists(target):
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
        sc.mount(slave_path, target, None, sc.MS_BIND)


def pivot(root: str, tracer: Tracer) -> None:
    """Make `root` the new / and detach the old root (pivot_root(".", ".") stacks old over new)."""
    with tracer.step("pivot_root into the container root", f"cd {root} && pivot_root . ."):
        os.chdir(root)
        sc.pivot_root(".", ".")
    with tracer.step("detach the old root", "umount -l ."):
        sc.mount(None, ".", None, sc.MS_SLAVE | sc.MS_REC)  # our unmount must not reach the host
        sc.umount2(".", sc.MNT_DETACH)
        os.chdir("/")


def _kinds(paths: Iterable[str]) -> list[tuple[str, bool]]:
    """(path, is a directory) of each path that exists (a dangling symlink counts, as a file): one stat each."""
    out = []
    for p in paths:
        try:
            out.append((p, stat.S_ISDIR(os.stat(p).st_mode)))
        except OSError:
            if os.path.lexists(p):
                out.append((p, False))
    return out


def _mask_shell(todo: list[tuple[str, bool]]) -> str:
    return "; ".join(f"mount -t tmpfs -o ro tmpfs {p}" if d else f"mount --bind /dev/null {p}" for p, d in todo)


def mask_paths(paths: Iterable[str], tracer: Tracer) -> None:
    """Hide host information: /dev/null over files, an empty read-only tmpfs over directories."""
    todo = _kinds(paths)
    if not todo:
        return
    with tracer.step(f"mask {len(todo)} paths", _mask_shell, todo):
        for p, is_dir in todo:
            if is_dir:
                sc.mount("tmpfs", p, "tmpfs", sc.MS_RDONLY, None)
            else:
                sc.mount("/dev/null", p, None, sc.MS_BIND, None)


def readonly_paths(paths: Iterable[str], tracer: Tracer) -> None:
    """Bind each path onto itself and remount it read-only (e.g. /proc/sys)."""
    todo = [p for p in paths if os.path.lexists(p)]
    if not todo:
        return
    with tracer.step(f"make {len(todo)} paths read-only", _readonly_shell, todo):
        for p in todo:
            sc.mount(p, p, None, sc.MS_BIND | sc.MS_REC)
            flags = sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY | sc.MS_REC
            if p.startswith("/proc"):  # keep proc's own flags
                flags |= sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC
            sc.mount(None, p, None, flags)


def _readonly_shell(todo: list[str]) -> str:
    return "; ".join(f"mount --bind {p} {p}; mount -o remount,bind,ro {p}" for p in todo)


def readonly_root(tracer: Tracer) -> None:
    """`--read-only`: remount the container's / read-only (its other mounts keep their mode)."""
    with tracer.step("make the root file system read-only", "mount -o remount,bind,ro /"):
        sc.mount(None, "/", None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY)
