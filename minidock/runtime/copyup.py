"""Copy-up: fill an empty volume with what the image has at its mount point (Docker's volume rule).

Docker copies a directory's content from the container's root file system into a volume the
first time the volume is mounted there while empty (not for binds, not with `nocopy`), keeping
owners, modes, times, links, special files and extended attributes, then gives the volume's root
the directory's owner and mode. The runtime does it in the container's mount namespace, after the
root file system is mounted and before the volume is bound over the directory.
"""

import contextlib
import os
import stat


def is_empty(path: str) -> bool:
    with os.scandir(path) as it:
        return next(it, None) is None


def copy_up(src: str, dst: str) -> bool:
    """Copy the tree under `src` into the empty directory `dst`; False (nothing done) unless both
    are directories and `dst` is empty."""
    try:
        if not stat.S_ISDIR(os.lstat(src).st_mode) or not os.path.isdir(dst) or not is_empty(dst):
            return False
    except FileNotFoundError:
        return False
    links: dict[tuple[int, int], str] = {}
    for top, dirs, files in os.walk(src):
        rel = os.path.relpath(top, src)
        out_top = dst if rel == "." else os.path.join(dst, rel)
        for name in sorted(dirs):
            st = os.lstat(os.path.join(top, name))
            if stat.S_ISLNK(st.st_mode):  # os.walk lists links to directories as directories
                files.append(name)
                continue
            os.mkdir(os.path.join(out_top, name), 0o700)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(top, d))]
        for name in files:
            _copy_entry(os.path.join(top, name), os.path.join(out_top, name), links)
    for top, dirs, _ in os.walk(src, topdown=False):  # why: directory times after their content
        for name in dirs:
            rel = os.path.relpath(os.path.join(top, name), src)
            _attrs(os.path.join(top, name), os.path.join(dst, rel), os.lstat(os.path.join(top, name)))
    _attrs(src, dst, os.lstat(src))
    return True


def _copy_entry(src: str, dst: str, links: dict[tuple[int, int], str]) -> None:
    st = os.lstat(src)
    key = (st.st_dev, st.st_ino)
    if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
        if key in links:
            os.link(links[key], dst)
            return
        links[key] = dst
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISREG(mode):
        _copy_file(src, dst, st.st_size)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        if stat.S_ISCHR(mode) and st.st_rdev == 0:
            return  # an overlay whiteout: not content
        os.mknod(dst, mode, st.st_rdev)
    _attrs(src, dst, st)


def _copy_file(src: str, dst: str, size: int) -> None:
    fin = os.open(src, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        fout = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            left = size
            while left > 0:
                n = os.sendfile(fout, fin, None, min(left, 1 << 30))
                if n == 0:
                    break
                left -= n
        finally:
            os.close(fout)
    finally:
        os.close(fin)


def _attrs(src: str, dst: str, st: os.stat_result) -> None:
    """Owner, mode (setuid bits after chown, which clears them), xattrs and times of `src` on `dst`."""
    link = stat.S_ISLNK(st.st_mode)
    os.lchown(dst, st.st_uid, st.st_gid)
    if not link:
        os.chmod(dst, stat.S_IMODE(st.st_mode))
    with contextlib.suppress(OSError):
        for name in os.listxattr(src, follow_symlinks=False):
            if name.startswith("trusted.overlay."):
                continue
            with contextlib.suppress(OSError):
                os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False), follow_symlinks=False)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
