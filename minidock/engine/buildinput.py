"""What `minidock build` reads and writes besides the store: a context on stdin, `--build-context`
values, `--iidfile`.

`build - < Dockerfile` is a Dockerfile with an empty context; `build - < ctx.tar` (plain, gzip,
bzip2, xz or zstd, sniffed by magic as Docker does) is a context, unpacked into the store's tmp
for the length of the build with the same safety checks as ADD's archives; `-f` then names a
file inside it.
"""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from minidock.builder.stages import IMAGE_SCHEME
from minidock.errors import BuildError, UsageError
from minidock.paths import Paths


@contextlib.contextmanager
def stdin_context(data: bytes, paths: Paths) -> Iterator[tuple[Path, str | None]]:
    """(context directory, Dockerfile text or None) for `build -` with `data` read from stdin."""
    from minidock.builder import add  # lazy: only `build -` sniffs and unpacks an archive
    from minidock.store.atomic import make_dir, remove_tree

    work = make_dir(paths.tmp, "stdin-")  # owned: a killed build's unpacked context is reclaimed
    try:
        blob = Path(work, "stdin")
        blob.write_bytes(data)
        kind = add.archive_kind(str(blob))
        context = Path(work, "context")
        context.mkdir()
        if kind is None:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise UsageError("build -: standard input is neither a tar archive nor a UTF-8 Dockerfile") from e
            yield context, text
            return
        try:
            add.extract_archive(str(blob), kind, context)
        except BuildError as e:  # "ADD stdin: member '../x' would be written outside the destination"
            raise UsageError(f"build -: the context tar on stdin: {str(e).removeprefix('ADD stdin: ')}") from e
        blob.unlink()
        yield context, None
    finally:
        remove_tree(work)


def parse_contexts(items: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """`--build-context NAME=DIR|docker-image://REF` values, checked (directories made absolute)."""
    out = []
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name or not value:
            raise UsageError(f"invalid --build-context {item!r}: want NAME=DIR or NAME=docker-image://REF")
        if value.startswith(IMAGE_SCHEME):
            if value == IMAGE_SCHEME:
                raise UsageError(f"invalid --build-context {item!r}: no image after {IMAGE_SCHEME}")
        elif "://" in value or value.startswith("git@"):
            raise UsageError(f"invalid --build-context {item!r}: only directories and docker-image:// are supported")
        elif not os.path.isdir(value):
            raise UsageError(f"invalid --build-context {item!r}: {value}: not a directory")
        else:
            value = os.path.abspath(value)
        out.append((name, value))
    return tuple(out)


def remove_iidfile(path: str) -> None:
    """Docker removes an old --iidfile first, so a failed build never leaves a stale id behind."""
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise UsageError(f"--iidfile {path}: cannot remove: {e.strerror}") from e


def write_iidfile(path: str, image_id: str) -> None:
    """`sha256:<hex>`, no newline, as Docker writes it."""
    try:
        with open(path, "w", encoding="ascii") as f:
            f.write(image_id)
    except OSError as e:
        raise UsageError(f"--iidfile {path}: cannot write: {e.strerror}") from e
