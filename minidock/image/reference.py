"""Image references: parse and normalise `NAME[:TAG][@DIGEST]` exactly like Docker.

Grammar and normalisation follow distribution/reference (reference.go, regexp.go, normalize.go):
`alpine` -> `docker.io/library/alpine:latest`, `user/app` -> `docker.io/user/app:latest`,
`localhost:5000/x` keeps its host; the first `/`-separated component is a host when it contains
`.` or `:`, is `localhost`, or has an uppercase letter; `index.docker.io` is an alias of `docker.io`.
Pure: no I/O.
"""

from __future__ import annotations

from minidock.errors import ManifestError, PlainError, ReferenceFormatError
from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_REFERENCE = rf"((?:{_DOMAIN}/)?{_REMOTE_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?"

# The same grammar for the common shapes (`name`, `host[:port]/a/b:tag`), checked with sets: `re`'s
# import and these patterns' compile cost every `minidock run` ~4 ms. Digests, IPv6 hosts and
# anything these checks do not accept go to the regular expressions above.
_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_COMPONENT_CHARS = _LOWER_ALNUM | frozenset("._-")
_WORD = _LOWER_ALNUM | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_TAG_CHARS = _WORD | frozenset(".-")
_HOST_CHARS = _WORD - {"_"} | {"-"}
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdef")


class Reference(NamedTuple):
    """A normalised image reference: registry domain, repository path, tag and/or digest.

    `tag` is "latest" when neither a tag nor a digest was given; with only a digest it is "".
    """

    domain: str
    path: str
    tag: str = ""
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str) -> Reference:
        """Parse and normalise `text` like `docker pull` does; ReferenceFormatError names the input."""
        if not text:
            raise _err(text, "repository name must have at least one component")
        if len(text) == 64 and _HEX.issuperset(text):
            raise _err(text, "cannot specify 64-byte hexadecimal strings")
        domain, remainder = _split_docker_domain(text)
        remote = remainder.split("@", 1)[0]
        remote = remote.split(":", 1)[0]
        if remote.lower() != remote:
            raise _err(text, "repository name must be lowercase")
        path, tag, digest_text = _plain_parts(domain, remainder) or _matched_parts(text, domain, remainder)
        if len(path) > NAME_TOTAL_LENGTH_MAX:
            raise _err(text, f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")
        digest = _parse_digest(text, digest_text) if digest_text else None
        if not tag and digest is None:
            tag = DEFAULT_TAG
        return cls(domain=domain, path=path, tag=tag, digest=digest)

    @property
    def name(self) -> str:
        """`docker.io/library/alpine`: domain and repository path."""
        return f"{self.domain}/{self.path}"

    @property
    def repository(self) -> str:
        """`library/alpine`: the repository path inside the registry (the v2 API name)."""
        return self.path

    @property
    def registry_host(self) -> str:
        """The host[:port] serving the v2 API (`registry-1.docker.io` for docker.io)."""
        return DOCKER_HUB_API_HOST if self.domain == DEFAULT_DOMAIN else self.domain

    @property
    def is_docker_hub(self) -> bool:
        return self.domain == DEFAULT_DOMAIN

    @property
    def reference(self) -> str:
        """What goes after /manifests/: the digest when there is one, else the tag."""
        return str(self.digest) if self.digest is not None else self.tag

    def with_tag(self, tag: str) -> Reference:
        """The same repository with `tag` and no digest."""
        if not _valid_tag(tag):
            raise _err(tag, "invalid tag format")
        return Reference(self.domain, self.path, tag, None)

    def with_digest(self, digest: Digest) -> Reference:
        """The same repository pinned to `digest` (the tag is kept)."""
        return Reference(self.domain, self.path, self.tag, digest)

    def familiar_name(self) -> str:
        """Docker's short name: `alpine`, `user/app`, `localhost:5000/x`."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        path = self.path
        if path.startswith(OFFICIAL_PREFIX) and "/" not in path[len(OFFICIAL_PREFIX):]:
            path = path[len(OFFICIAL_PREFIX):]
        return path

    def familiar(self) -> str:
        """Docker's short form of the whole reference: `alpine:latest`, `user/app@sha256:...`."""
        return self.familiar_name() + self._suffix()

    def _suffix(self) -> str:
        out = f":{self.tag}" if self.tag else ""
        if self.digest is not None:
            out += f"@{self.digest}"
        return out

    def __str__(self) -> str:
        return self.name + self._suffix()


def _split_docker_domain(text: str) -> tuple[str, str]:
    """normalize.go splitDockerDomain: (domain, remainder) with docker.io and library/ filled in."""
    first, slash, rest = text.partition("/")
    is_host = bool(slash) and (any(c in first for c in ".:") or first == "localhost" or first.lower() != first)
    domain, remainder = (first, rest) if is_host else (DEFAULT_DOMAIN, text)
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder


def _plain_parts(domain: str, remainder: str) -> tuple[str, str, str] | None:
    """(path, tag, "") when `domain/remainder` has no digest and is valid by the set checks; else None."""
    path, colon, tag = remainder.partition(":")
    if "@" in remainder or (colon and not _valid_tag(tag)) or not all(map(_valid_component, path.split("/"))):
        return None
    if domain != DEFAULT_DOMAIN and not _valid_domain(domain):
        return None
    return path, tag, ""


def _matched_parts(text: str, domain: str, remainder: str) -> tuple[str, str, str]:
    """(path, tag, digest text) by the regular expressions (ReferenceFormatError when they do not match)."""
    import re  # lazy: see _LOWER_ALNUM

    m = re.fullmatch(_REFERENCE, f"{domain}/{remainder}", re.ASCII)
    if not m or (domain != DEFAULT_DOMAIN and not re.fullmatch(_DOMAIN, domain, re.ASCII)):
        raise _err(text, "invalid reference format")
    return m.group(1)[len(domain) + 1:], m.group(2) or "", m.group(3) or ""  # the domain: split as above


def _valid_component(part: str) -> bool:
    """`part` matches _PATH_COMPONENT: lowercase alphanumerics joined by `.`, `_`, `__` or runs of `-`."""
    if not part or part[0] not in _LOWER_ALNUM or part[-1] not in _LOWER_ALNUM or not _COMPONENT_CHARS.issuperset(part):
        return False
    separator = ""
    for c in part:
        if c in _LOWER_ALNUM:
            if separator and separator not in (".", "_", "__") and separator.strip("-"):
                return False
            separator = ""
        else:
            separator += c
    return True


def _valid_tag(tag: str) -> bool:
    """`tag` matches _TAG (ASCII): a word character, then up to 127 word characters, `.` or `-`."""
    return 0 < len(tag) <= 128 and tag[0] in _WORD and _TAG_CHARS.issuperset(tag)


def _valid_domain(domain: str) -> bool:
    """`domain` matches _DOMAIN without the IPv6 form (that goes to the regular expression)."""
    host, colon, port = domain.partition(":")
    if colon and not (port and _DIGITS.issuperset(port)):
        return False
    return all(label and label[0] != "-" and label[-1] != "-" and _HOST_CHARS.issuperset(label)
               for label in host.split("."))


def _parse_digest(text: str, digest_text: str) -> Digest:
    try:
        return Digest.parse(digest_text)
    except ManifestError as e:
        raise _err(text, f"invalid digest: {e}") from e


def _err(text: str, reason: str) -> ReferenceFormatError:
    if reason == "invalid reference format":
        return ReferenceFormatError(f"invalid reference format: {text!r}")
    return ReferenceFormatError(f"invalid reference format: {reason}: {text!r}")


def parse_reference(text: str) -> Reference:
    """Shorthand for Reference.parse."""
    return Reference.parse(text)


def parse_repository(text: str) -> Reference:
    """A reference that names a repository only (`pull -a`, `push -a`); Docker refuses a tag or digest."""
    ref = Reference.parse(text)
    if "@" in text or ":" in text.rsplit("/", 1)[-1]:
        raise PlainError("tag can't be used with --all-tags/-a")
    return ref
