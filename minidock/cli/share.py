"""`minidock push | login | logout | save | load | export | import`: parse, one engine call, render."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO, TextIO

from minidock.cli.lazy import lazy

if TYPE_CHECKING:
    from minidock.engine import share
else:
    share = lazy("minidock.engine.share")
from minidock.errors import UsageError

if TYPE_CHECKING:
    import typer as typer_types

    from minidock.oci.digest import Digest

PASSWORD_WARNING = "WARNING! Using --password via the CLI is insecure. Use --password-stdin."


def register(app: typer_types.Typer) -> None:
    """Add the sharing commands to the typer app."""
    import typer

    @app.command("push")
    def push(name: str = typer.Argument(..., help="NAME[:TAG]"),
             all_tags: bool = typer.Option(False, "-a", "--all-tags", help="push all tagged images in the repository"),
             quiet: bool = typer.Option(False, "-q", "--quiet", help="suppress verbose output"),
             _trust: bool = typer.Option(True, "--disable-content-trust", help="(accepted: no content trust here)"),
             ) -> None:
        """Upload an image to a registry (a bar per layer on a terminal, plain lines otherwise)."""
        push_and_render(name, all_tags, quiet, sys.stdout)

    @app.command("login")
    def login(server: str = typer.Argument("", help="registry (default: Docker Hub)"),
              username: str = typer.Option("", "-u", "--username"),
              password: str = typer.Option("", "-p", "--password"),
              password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin")
              ) -> None:
        """Log in to a registry (credentials are checked, then kept in ~/.docker/config.json)."""
        user, secret = _credentials(username, password, password_stdin)
        share.login(server, user, secret)
        print("Login Succeeded")

    @app.command("logout")
    def logout(server: str = typer.Argument("", help="registry (default: Docker Hub)")) -> None:
        """Remove the stored credentials of one registry."""
        key, removed = share.logout(server)
        print(f"Removing login credentials for {key}" if removed else f"Not logged in to {key}")

    _register_archives(app)
    _register_rootfs_tars(app)


def _register_archives(app: typer_types.Typer) -> None:
    """save and load: images to and from docker-archive / OCI layout tars."""
    import typer

    image_args = typer.Argument(..., help="IMAGE...")

    @app.command("save")
    def save(images: list[str] = image_args,
             output: str = typer.Option("", "-o", "--output", help="write to FILE instead of stdout"),
             fmt: str = typer.Option("docker-archive", "--format", help="docker-archive or oci-archive (oci)")) -> None:
        """Save images to a tar archive."""
        with _output(output) as out:
            share.save_images(images, out, fmt)

    @app.command("load")
    def load(input_: str = typer.Option("-", "-i", "--input", help="read from FILE instead of stdin"),
             quiet: bool = typer.Option(False, "-q", "--quiet")) -> None:
        """Load images from a docker-archive or OCI layout tar (gzip too)."""
        with _input(input_) as src:
            results = share.load_images(src)
        if not quiet:
            for line in load_lines(results):
                print(line)


def _register_rootfs_tars(app: typer_types.Typer) -> None:
    """export (a container's file system as a tar) and import (a rootfs tar as an image)."""
    import typer

    changes = typer.Option([], "-c", "--change", help="CMD, ENTRYPOINT, ENV, ... to apply")

    @app.command("export")
    def export(container: str = typer.Argument(...),
               output: str = typer.Option("", "-o", "--output", help="write to FILE instead of stdout")) -> None:
        """Export a container's file system as a tar."""
        with _output(output) as out:
            share.export_container(container, out)

    @app.command("import")
    def import_(file: str = typer.Argument(..., help="FILE or - for stdin"),
                repository: str = typer.Argument("", help="REPOSITORY[:TAG] (none: an untagged image)"),
                change: list[str] = changes,
                message: str = typer.Option("", "-m", "--message"),
                platform: str = typer.Option("", "--platform", help="checked as Docker 20.10 does; the image "
                                             "is this host's platform")) -> None:
        """Create an image from a root file system tar."""
        with _input(file) as src:
            _, image_id = share.import_image(src, repository, change, message, platform=platform)
        print(image_id)


def _credentials(username: str, password: str, password_stdin: bool) -> tuple[str, str]:
    if password and password_stdin:
        raise UsageError("login: --password and --password-stdin are mutually exclusive")
    if password:
        print(PASSWORD_WARNING, file=sys.stderr)
    if password_stdin:
        if not username:
            raise UsageError("login: must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    if not username and sys.stdin.isatty():
        username = input("Username: ")
    if not password and sys.stdin.isatty():
        import getpass

        password = getpass.getpass("Password: ")
    return username, password


@contextlib.contextmanager
def _input(path: str) -> Iterator[BinaryIO]:
    src = share.open_input(path)
    try:
        yield src
    finally:
        if src is not sys.stdin.buffer:
            src.close()


@contextlib.contextmanager
def _output(path: str) -> Iterator[BinaryIO]:
    """stdout, or a temp file renamed to `path` only when everything was written."""
    if not path or path == "-":
        out = share.open_output("-")
        yield out
        out.flush()
        return
    tmp = f"{path}.tmp-{os.getpid()}"
    out = share.open_output(tmp)
    try:
        yield out
        share.fsync_close(out)
        os.replace(tmp, path)
    finally:
        if not out.closed:
            out.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def load_lines(results: list[share.LoadResult]) -> list[str]:
    """`Loaded image: busybox:latest` per name, `Loaded image ID: sha256:...` for unnamed images."""
    out = []
    for r in results:
        names = [share.familiar(n) for n in r.names]
        out += [f"Loaded image: {n}" for n in names] or [f"Loaded image ID: {r.image_id}"]
    return out


def push_and_render(name: str, all_tags: bool, quiet: bool, out: TextIO) -> None:
    """Docker's push output: the repository once, then per tag its layers and `TAG: digest: D size: N`;
    with -q only the name pushed."""
    repo = share.push_repository(name, all_tags)
    if not quiet:
        if not all_tags and "@" not in name and ":" not in name.rsplit("/", 1)[-1]:
            print("Using default tag: latest", file=out)
        print(f"The push refers to repository [{repo.name}]", file=out, flush=True)
    for tagged in share.local_tags(name) if all_tags else [name]:
        renderer = push_renderer(out, quiet)
        try:
            result = share.push_image(tagged, renderer.event)
        finally:
            renderer.close()
        if not quiet:
            print(f"{result.reference}: digest: {result.digest} size: {result.size}", file=out)
        elif not all_tags:
            print(result.name, file=out)
    if quiet and all_tags:
        print(repo.name, file=out)


def push_renderer(out: TextIO, quiet: bool = False) -> PushLines:
    """rich bars on a terminal (cli/pushbars.py), plain lines otherwise, nothing with -q (like pull)."""
    if not quiet and out.isatty():
        from minidock.cli.pushbars import PushBars

        return PushBars(out)
    return PushLines(out, quiet)


class PushLines:
    """Docker-like push output: one line per layer state change (the layer's diff ID, as Docker shows
    it; nothing for the config), nothing with -q."""

    def __init__(self, out: TextIO, quiet: bool = False) -> None:
        self.out, self.quiet = out, quiet
        self.ids: dict[Digest, str] = {}  # layer blob -> the ID shown for it

    def close(self) -> None:
        return None

    def event(self, e: share.PushEvent) -> None:
        if isinstance(e, share.PushStarted):
            self.ids = self.layer_labels(e)
        line = self.line(e)
        if line and not self.quiet:
            print(line, file=self.out, flush=True)

    @staticmethod
    def layer_labels(e: share.PushStarted) -> dict[Digest, str]:
        diff_ids = dict(e.layer_ids)
        return {blob: diff_ids[blob].short for blob, _ in e.blobs if blob in diff_ids}

    def line(self, e: share.PushEvent) -> str:
        if isinstance(e, share.PushStarted):
            return "\n".join(f"{label}: Preparing" for label in self.ids.values())
        label = None if isinstance(e, share.PushDone) else self.ids.get(e.digest)
        if label is None:
            return ""
        if isinstance(e, share.BlobExists):
            return f"{label}: Layer already exists"
        if isinstance(e, share.BlobMounted):
            return f"{label}: Mounted from {e.source}"
        if isinstance(e, share.BlobPushed):
            return f"{label}: Pushed"
        return ""
