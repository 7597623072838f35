"""`build -o`: the final stage's file system exported instead of an image, as BuildKit's exporters do.

`parse_output(spec)` reads buildx's syntax: `type=local,dest=DIR`, `type=tar,dest=FILE` (`-` is
stdout), `DIR` alone (local) and `-` alone (a tar on stdout); `type=image` / `type=docker` mean the
ordinary image. `export(store, chain, output, stdout)` writes the merged tree of the chain's
layers (whiteouts applied, owners, modes, mtimes and hard links kept): as a tar, or unpacked into
the destination directory (created 0700 when missing, as BuildKit does; existing files are
overwritten, others left alone).
"""

import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from minidock.errors import UsageError
from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest
from minidock.store.store import Store

IMAGE = "image"
# our own tar: every name is relative and safe; "fully_trusted" keeps 3.12+ from warning
_TRUSTED: dict[str, Any] = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}


class Output(NamedTuple):
    """One `-o`: kind ("local", "tar" or "image") and destination ("-" is stdout for tar)."""

    kind: str
    dest: str = ""


def parse_output(spec: str) -> Output:
    """buildx's `-o` value -> Output; UsageError naming the value when it is not one."""
    if "=" not in spec and "," not in spec:
        if not spec:
            raise UsageError("invalid -o '': want type=local,dest=DIR, type=tar,dest=FILE or DIR")
        return Output("tar", "-") if spec == "-" else Output("local", spec)
    fields: dict[str, str] = {}
    for item in spec.split(","):
        key, eq, value = item.strip().partition("=")
        if not eq or not key:
            raise UsageError(f"invalid -o {spec!r}: {item!r} is not KEY=VALUE")
        fields[key.lower()] = value
    kind = fields.get("type", "")
    if kind in ("image", "docker", "moby"):
        return Output(IMAGE)
    if kind not in ("local", "tar"):
        raise UsageError(f"invalid -o {spec!r}: exporter {kind!r} could not be found (want local or tar)"
                         if kind else f"invalid -o {spec!r}: type is required (type=local or type=tar)")
    dest = fields.get("dest", "")
    if not dest:
        raise UsageError(f"invalid -o {spec!r}: dest is required for {kind} output")
    if kind == "local" and dest == "-":
        raise UsageError(f"invalid -o {spec!r}: a local output needs a directory, not stdout")
    return Output(kind, dest)


def check_output(output: Output) -> None:
    """Fail before building when the destination cannot be written (a file where a directory is needed)."""
    if output.kind == "local" and os.path.exists(output.dest) and not os.path.isdir(output.dest):
        raise UsageError(f"-o {output.dest}: exists and is not a directory")
    if output.kind == "tar" and output.dest != "-" and os.path.isdir(output.dest):
        raise UsageError(f"-o type=tar,dest={output.dest}: is a directory")


def export(store: Store, chain: Digest | None, output: Output, stdout: BinaryIO | None = None) -> None:
    """Write the file system of `chain` (None: empty) where `output` says."""
    from minidock.image.rootfs import write_rootfs  # lazy: only -o exports

    layers = [Path(d) for d in store.snapshots.lower_dirs(chain)] if chain is not None else []
    if output.kind == "tar":
        if output.dest == "-":
            if stdout is None:
                raise UsageError("-o -: no standard output to write the tar to")
            write_rootfs(layers, stdout)
            stdout.flush()
            return
        _write_file(Path(output.dest), lambda f: write_rootfs(layers, f))
        return
    _unpack_into(store, layers, Path(output.dest))


def _write_file(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """`path` written whole through a temporary sibling, then renamed (never a half-written tar)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _unpack_into(store: Store, layers: list[Path], dest: Path) -> None:
    """The merged tree unpacked into `dest` (through a tar in the store's tmp: hard links and owners kept)."""
    import tempfile

    from minidock.image.rootfs import write_rootfs

    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.makedirs(store.paths.tmp, exist_ok=True)
    with tempfile.TemporaryFile(dir=store.paths.tmp) as tmp:
        write_rootfs(layers, tmp)
        tmp.seek(0)
        with tarfile.open(fileobj=tmp, mode="r|") as tf:
            uid, gid = os.geteuid(), os.getegid()
            for member in tf:
                _replace_existing(dest / member.name, member)
                member.uid, member.gid, member.uname, member.gname = uid, gid, "", ""  # BuildKit's client's own
                tf.extract(member, dest, set_attrs=True, numeric_owner=True, **_TRUSTED)


def _replace_existing(path: Path, member: tarfile.TarInfo) -> None:
    """An entry in the way of a new one (not a directory over a directory) is removed first."""
    if not os.path.lexists(path) or (member.isdir() and path.is_dir() and not path.is_symlink()):
        return
    if path.is_dir() and not path.is_symlink():
        import shutil

        shutil.rmtree(path)
    else:
        path.unlink()
