"""Restart policies (`--restart no|on-failure[:N]|always|unless-stopped`): parsing and the decision (pure)."""

from __future__ import annotations

from minidock.errors import UsageError
from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAMES = ("no", "on-failure", "always", "unless-stopped")
BACKOFF_START = 0.1  # seconds; doubled per restart like Docker's restart manager
BACKOFF_MAX = 2.0


class RestartPolicy(NamedTuple):
    """Docker's HostConfig.RestartPolicy."""

    name: str = "no"
    max_retries: int = 0  # on-failure only; 0 = unlimited

    @classmethod
    def parse(cls, text: str) -> RestartPolicy:
        name, _, count = (text or "no").partition(":")
        if name not in NAMES:
            raise UsageError(f"invalid restart policy {text!r}: want no, on-failure[:N], always or unless-stopped")
        if count and name != "on-failure":
            raise UsageError(f"invalid restart policy {text!r}: maximum retry count cannot be used with {name}")
        if count and not count.isdigit():
            raise UsageError(f"invalid restart policy {text!r}: {count!r} is not a number")
        return cls(name, int(count or 0))

    @classmethod
    def from_json(cls, d: Any) -> RestartPolicy:
        if isinstance(d, str):
            return cls.parse(d)
        if isinstance(d, dict):
            return cls(str(d.get("Name") or "no"), int(d.get("MaximumRetryCount") or 0))
        return cls()

    def to_json(self) -> dict[str, Any]:
        return {"Name": self.name, "MaximumRetryCount": self.max_retries}

    def should_restart(self, exit_code: int, restarts: int, stopped: bool) -> bool:
        """Restart after an exit with `exit_code`, having restarted `restarts` times already?

        Never after a user's `stop` (or `rm -f`)."""
        if stopped or self.name == "no":
            return False
        if self.name == "on-failure":
            return exit_code != 0 and (self.max_retries == 0 or restarts < self.max_retries)
        return True


def backoff(restarts: int) -> float:
    """Seconds to wait before restart number `restarts + 1`."""
    return float(min(BACKOFF_START * (2 ** restarts), BACKOFF_MAX))
