"""`--log-opt` for the json-file driver: what `run` checks and records (the writer is logwriter.py).

Docker's json-file options: `max-size`, `max-file`, `compress` (rotated files gzipped), and the
extra attributes each entry carries (`attrs`, shown by `logs --details`): `labels=K1,K2` and
`env=K1,K2` (those of the container's labels and environment variables), `labels-regex` and
`env-regex` (keys a regular expression finds), `tag` (a Go template over the container: {{.ID}},
{{.Name}}, {{.ImageName}}, ...). One `--log-opt` takes one KEY=VALUE; minidock also splits
`max-size=10m,max-file=3`, and a piece without `=` continues the value before it (`labels=a,b`).
The options are recorded as given (inspect's HostConfig.LogConfig.Config, as Docker's).
"""

from __future__ import annotations

from minidock.errors import InvalidParameterError, UsageError
from minidock.nouns import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

DEFAULT_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_MAX_FILE = 3
KNOWN = ("max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag")
TAG_FIELDS = ("ID", "FullID", "Name", "ImageID", "ImageFullID", "ImageName", "DaemonName", "Command", "Hostname")


class LogOptions(NamedTuple):
    """The parsed options (sizes in bytes) and `given`: the KEY=VALUE pairs as typed, in order."""

    max_size: int = DEFAULT_MAX_SIZE
    max_file: int = DEFAULT_MAX_FILE
    compress: bool = False
    given: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, opts: tuple[str, ...] | list[str]) -> LogOptions:
        from minidock.runtime.cgroups import parse_bytes

        given: dict[str, str] = {}
        for opt in opts:
            last = ""
            for piece in opt.split(","):
                key, eq, value = piece.partition("=")
                if not eq and last:  # `labels=a,b`: the list goes on
                    given[last] += "," + piece
                    continue
                if key not in KNOWN:  # Docker's daemon says so: `create` exits 1
                    raise InvalidParameterError(f"unknown log opt {key!r} for json-file log driver")
                given[key], last = value, key
        size, files, compress = DEFAULT_MAX_SIZE, DEFAULT_MAX_FILE, False
        for key, value in given.items():
            if key == "max-size":
                size = -1 if value == "-1" else parse_bytes(value)
                if size == 0:
                    raise UsageError(f"invalid log opt 'max-size={value}': max-size must be positive")
            elif key == "max-file":
                if not value.isdigit() or int(value) < 1:
                    raise UsageError(f"invalid log opt 'max-file={value}': max-file must be a positive integer")
                files = int(value)
            elif key == "compress":
                if value not in ("true", "false", "1", "0", "t", "f", "TRUE", "FALSE", "True", "False"):
                    raise UsageError(f'invalid log opt \'compress={value}\': strconv.ParseBool: parsing "{value}": '
                                     "invalid syntax")
                compress = value in ("true", "1", "t", "TRUE", "True")
            elif key.endswith("-regex"):
                _regex(key, value)
        if compress and files == 1:
            raise UsageError("compress cannot be true when max-file is less than 2")
        parsed = cls(size, files, compress, tuple(given.items()))
        if given.get("tag"):  # a template that cannot run fails here, not when the container starts
            parsed.attrs({}, (), dict.fromkeys(TAG_FIELDS, ""))
        return parsed

    def to_json(self) -> dict[str, str]:
        """What was given (Docker records the options as typed)."""
        return dict(self.given)

    def attrs(self, labels: Mapping[str, str], env: Sequence[str],
              tag: Mapping[str, str] | None = None) -> dict[str, str]:
        """The extra attributes of every entry (Docker's logger.Info.ExtraAttributes, plus `tag`):
        `tag` holds the fields the template may use (ID, FullID, Name, ImageID, ImageName, ...)."""
        given = dict(self.given)
        out: dict[str, str] = {}
        out.update({k: labels[k] for k in given.get("labels", "").split(",") if k in labels})
        if given.get("labels-regex"):
            found = _regex("labels-regex", given["labels-regex"])
            out.update({k: v for k, v in labels.items() if found(k)})
        variables = {k: v for k, eq, v in (e.partition("=") for e in env) if eq}
        out.update({k: variables[k] for k in given.get("env", "").split(",") if k in variables})
        if given.get("env-regex"):
            found = _regex("env-regex", given["env-regex"])
            out.update({k: v for k, v in variables.items() if found(k)})
        if given.get("tag") and tag is not None:
            from minidock.gotemplate import Struct, TemplateError, parse

            try:
                out["tag"] = str(parse(given["tag"], name="log-tag").execute(Struct(dict(tag), "*logger.Info")))
            except TemplateError as e:
                raise UsageError(f"failed to initialize logging driver: {e}") from e
        return out

    def record_attrs(self, record: Mapping[str, Any]) -> dict[str, str]:
        """`attrs` for a container record (state.json's dict): its labels and environment, and the
        fields of Docker's logger.Info for `tag` (ImageID is the first 12 characters, "sha256:" too)."""
        if not any(k in dict(self.given) for k in KNOWN[3:]):
            return {}
        import os

        config = (record.get("host_config") or {}).get("Config") or {}
        cid, image_id = str(record.get("id", "")), str(record.get("image_id", ""))
        tag = dict(zip(TAG_FIELDS, (cid[:12], cid, str(record.get("name", "")), image_id[:12], image_id,
                                    str(record.get("image", "")), "minidock", " ".join(record.get("command") or ()),
                                    os.uname().nodename), strict=True))
        return self.attrs(config.get("Labels") or {}, config.get("Env") or (), tag)


def _regex(key: str, value: str) -> Any:
    """The `search` of a -regex option's pattern (re loads only for one)."""
    import re

    try:
        return re.compile(value).search
    except re.error as e:
        raise UsageError(f"invalid log opt '{key}={value}': {e}") from e
