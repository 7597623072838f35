"""The one error tree of minidock; every class carries the exit code the CLI returns.

    MinidockError (125)                  anything minidock itself failed to do
    ├── UsageError (125)                 a bad flag or argument
    │   ├── FlagError (125, or 1)        a command line that does not parse (Docker's lines, no prefix)
    │   └── InvalidParameterError (125)  a value Docker's daemon (not its client) refuses: `create` exits 1
    ├── PlainError (any)                 a line worded exactly as Docker words it (no prefix)
    ├── ReferenceFormatError (125)       a malformed image reference
    ├── NotFoundError (125)              no such image / container / network
    │   └── ImageNotFoundError (125)
    ├── ConflictError (125)              a name in use, a running container to remove, ...
    ├── StoreError (125)                 the on-disk store is damaged or a write failed
    │   └── DigestMismatchError (125)    bytes do not hash to the digest they claim
    ├── ManifestError (125)              a manifest / index / config that cannot be used
    ├── RegistryError (125)              the registry said no (carries the registry error code)
    │   └── AuthError (125)              authentication failed or was refused
    ├── ArchiveError (125)               an unsafe or malformed tar
    ├── CopyError (1)                    `cp` could not copy (Docker's exit status)
    ├── DockerfileError (125)            a Dockerfile that does not parse / build
    ├── BuildError (125)                 a build step failed (e.g. RUN exited non-zero)
    ├── RuntimeSetupError (125)          a container could not be created (names the stage)
    ├── CannotInvokeError (126)          the command exists but cannot be executed
    └── CommandNotFoundError (127)       the command does not exist in the container
"""

from __future__ import annotations


class MinidockError(Exception):
    """Base of every error minidock raises on purpose; `exit_code` is what the CLI returns."""

    exit_code: int = 125
    bare: bool = False  # printed as it is (Docker's own wording), without the `minidock: ` prefix

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(MinidockError):
    """A bad command-line flag or argument."""


class FlagError(UsageError):
    """The command line does not parse: Docker's lines (`unknown flag: --x` and `See '... --help'.`);
    exit 125, or 1 for a wrong number of arguments (Docker's cobra does the same)."""

    bare = True

    def __init__(self, message: str, exit_code: int = 125) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class InvalidParameterError(UsageError):
    """A value that Docker's daemon refuses, not its flag parser: an invalid container name, a
    relative working directory or bind destination. `run` exits 125 for it, `create` 1 (as Docker's)."""


class PlainError(MinidockError):
    """An error whose text and exit code are Docker's own (`Error: No such object: x`, exit 1)."""

    bare = True

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ReferenceFormatError(MinidockError):
    """A malformed image reference."""


class NotFoundError(MinidockError):
    """An image, container, network or blob that does not exist."""


class ImageNotFoundError(NotFoundError):
    """No image by that name or id in the store."""


class ConflictError(MinidockError):
    """The request conflicts with current state (name in use, container running, ...)."""


class StoreError(MinidockError):
    """The store could not be read or written consistently."""


class DigestMismatchError(StoreError):
    """Content did not hash to (or was not the size of) the digest it claimed."""


class ManifestError(MinidockError):
    """A manifest, index or image config that is malformed or unusable."""


class RegistryError(MinidockError):
    """A registry refused a request; `code` is the registry's error code when it sent one."""

    def __init__(self, message: str, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class AuthError(RegistryError):
    """Authentication against a registry or token server failed."""


class ArchiveError(MinidockError):
    """A tar archive that is malformed or tries to escape its root."""


class CopyError(MinidockError):
    """`cp` could not copy (a missing path, a directory onto a file, ...): exit 1, as Docker's."""

    exit_code = 1


class DockerfileError(MinidockError):
    """A Dockerfile that cannot be parsed; the message starts with `FILE:LINE:`."""


class BuildError(MinidockError):
    """A build step failed."""


class RuntimeSetupError(MinidockError):
    """Creating the container failed at a named stage (mount, pivot_root, cgroup, ...)."""

    def __init__(self, message: str, stage: str = "") -> None:
        super().__init__(message)
        self.stage = stage


class CannotInvokeError(RuntimeSetupError):
    """The container's command exists but cannot be executed (permission, bad ELF, ...)."""

    exit_code = 126


class CommandNotFoundError(RuntimeSetupError):
    """The container's command was not found."""

    exit_code = 127
