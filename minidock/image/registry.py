"""Registry client (distribution v2 API): ping, manifests by tag or digest, blobs with Range, HEAD.

Lifecycle: `RegistryClient(domain, settings, transport)` per command. For `docker.io` the endpoints
are the configured `registry-mirrors` first, then https://registry-1.docker.io (as Docker does, for
docker.io only; a mirror keeps the `library/` name). The first endpoint that answers a manifest
request is used for the rest of the command. Registry JSON errors become RegistryError(code=...).
"""

import json
from typing import TYPE_CHECKING

from minidock.config import Settings, read_credentials
from minidock.errors import AuthError, DigestMismatchError, ManifestError, RegistryError
from minidock.image.auth import Authenticator
from minidock.image.reference import DEFAULT_DOMAIN, DOCKER_HUB_API_HOST
from minidock.nouns import NamedTuple
from minidock.oci import mediatypes as mt
from minidock.oci.digest import Digest

if TYPE_CHECKING:
    from minidock.image.transport import Response, Transport

MAX_MANIFEST_BYTES = 4 << 20
MAX_TAG_PAGES = 1000  # registries page tags/list (Docker Hub: 100 a page)
REASONS = {
    "MANIFEST_UNKNOWN": "manifest unknown", "NAME_UNKNOWN": "repository name not known to registry",
    "BLOB_UNKNOWN": "blob unknown to registry", "UNAUTHORIZED": "authentication required",
    "DENIED": "requested access to the resource is denied", "TOOMANYREQUESTS": "too many requests",
    "NAME_INVALID": "invalid repository name", "MANIFEST_INVALID": "manifest invalid",
    "DIGEST_INVALID": "provided digest did not match uploaded content", "UNSUPPORTED": "the operation is unsupported",
}
_STATUS_CODES = {401: "UNAUTHORIZED", 403: "DENIED", 404: "NOT_FOUND", 429: "TOOMANYREQUESTS"}


class FetchedManifest(NamedTuple):
    """A manifest or index exactly as the registry sent it, with the digest of those bytes."""

    data: bytes
    content_type: str
    digest: Digest


class Endpoint(NamedTuple):
    """One base URL serving the v2 API, with its own authenticator."""

    base: str
    auth: Authenticator


class RegistryClient:
    """The v2 API of one registry (or Docker Hub through its mirrors)."""

    def __init__(self, domain: str, settings: Settings, transport: "Transport", context: str = "") -> None:
        self.domain, self.settings, self.transport = domain, settings, transport
        self.context = context
        creds = read_credentials(domain)
        self.endpoints = [Endpoint(base, Authenticator(transport, creds)) for base in self._bases()]
        self._pinned: Endpoint | None = None

    def _bases(self) -> list[str]:
        if self.domain == DEFAULT_DOMAIN:
            return [*self.settings.registry_mirrors, f"https://{DOCKER_HUB_API_HOST}"]
        return [self.transport.base_url(self.domain)]

    def _prefix(self, what: str) -> str:
        """`what` behind this client's context ("pull alpine:latest: ...")."""
        return f"{self.context}: {what}" if self.context else what

    # ---- low level -------------------------------------------------------------------------
    def _send(self, ep: Endpoint, method: str, path: str, repo: str, *,
              headers: dict[str, str] | None = None, stream: bool = False) -> "Response":
        """One request with the auth dance: cached header, then one answer to a 401, then AuthError."""
        scope = f"repository:{repo}:pull" if repo else ""
        hdrs = dict(headers or {})
        known = ep.auth.header(scope)
        if known:
            hdrs["Authorization"] = known
        resp = self._request(method, ep.base + path, hdrs, stream)
        if resp.status_code != 401:
            return resp
        challenge = resp.headers.get("WWW-Authenticate", "")
        resp.close()
        hdrs["Authorization"] = ep.auth.answer(challenge, scope, self._prefix(repo or ep.base))
        resp = self._request(method, ep.base + path, hdrs, stream)
        if resp.status_code == 401:
            err = _error_from(resp, self._prefix(repo or ep.base))
            resp.close()
            raise AuthError(f"{err}: access denied (pull access denied or repository does not exist)",
                            code=err.code or "UNAUTHORIZED", status=401)
        return resp

    def _request(self, method: str, url: str, headers: dict[str, str], stream: bool) -> "Response":
        """transport.request with this client's context in front of network errors."""
        try:
            return self.transport.request(method, url, headers=headers, stream=stream)
        except RegistryError as e:
            if e.status or not self.context:
                raise
            raise RegistryError(self._prefix(str(e)), code=e.code) from e

    def _endpoint_chain(self) -> list[Endpoint]:
        return [self._pinned] if self._pinned is not None else self.endpoints

    # ---- API ---------------------------------------------------------------------------------
    def ping(self) -> None:
        """GET /v2/: 200 or 401 means a v2 registry answers."""
        ep = self._endpoint_chain()[0]
        resp = self._request("GET", ep.base + "/v2/", {}, False)
        resp.close()
        if resp.status_code not in (200, 401):
            raise RegistryError(self._prefix(f"{ep.base}/v2/ answered {resp.status_code}"), status=resp.status_code)

    def get_manifest(self, repo: str, ref: str) -> FetchedManifest:
        """The manifest or index `repo:ref` (tag or digest), verified: by-digest bytes must hash to it."""
        errors: list[RegistryError] = []
        for ep in self._endpoint_chain():
            try:
                got = self._get_manifest(ep, repo, ref)
            except RegistryError as e:
                if isinstance(e, DigestMismatchError | ManifestError):
                    raise
                errors.append(e)
                continue
            self._pinned = ep
            return got
        raise _most_useful(errors)

    def _get_manifest(self, ep: Endpoint, repo: str, ref: str) -> FetchedManifest:
        what = self.context or (f"{repo}:{ref}" if ":" not in ref else f"{repo}@{ref}")
        resp = self._send(ep, "GET", f"/v2/{repo}/manifests/{ref}", repo, headers={"Accept": ", ".join(mt.ACCEPT)})
        try:
            if resp.status_code != 200:
                raise _error_from(resp, what)
            data = resp.content
        finally:
            resp.close()
        if len(data) > MAX_MANIFEST_BYTES:
            raise ManifestError(f"{what}: manifest larger than {MAX_MANIFEST_BYTES} bytes")
        content_type = resp.headers.get("Content-Type", "").split(";", 1)[0].strip()
        digest = _verify_manifest(data, ref, resp.headers.get("Docker-Content-Digest", ""), what)
        return FetchedManifest(data, content_type, digest)

    def head_manifest(self, repo: str, ref: str) -> Digest | None:
        """The digest the registry reports for `repo:ref`, or None when it does not exist."""
        ep = self._endpoint_chain()[0]
        resp = self._send(ep, "HEAD", f"/v2/{repo}/manifests/{ref}", repo, headers={"Accept": ", ".join(mt.ACCEPT)})
        resp.close()
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise _error_from(resp, self._prefix(f"{repo}:{ref}"))
        header = resp.headers.get("Docker-Content-Digest", "")
        return Digest.parse(header) if header else None

    def head_blob(self, repo: str, digest: Digest) -> int | None:
        """The size of blob `digest` in `repo`, or None when the registry does not have it."""
        ep = self._endpoint_chain()[0]
        resp = self._send(ep, "HEAD", f"/v2/{repo}/blobs/{digest}", repo)
        resp.close()
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise _error_from(resp, self._prefix(f"blob {digest}"))
        return int(resp.headers.get("Content-Length", "0"))

    def open_blob(self, repo: str, digest: Digest, offset: int = 0) -> "tuple[Response, int]":
        """Stream blob `digest` from byte `offset` (Range); returns (response, offset it really starts at).

        206 with a matching Content-Range keeps the offset; 200 means the server ignored the range
        (start again at 0); 416 means the kept prefix is already the whole blob or wrong (start at 0).
        """
        ep = self._endpoint_chain()[0]
        path = f"/v2/{repo}/blobs/{digest}"
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        resp = self._send(ep, "GET", path, repo, headers=headers, stream=True)
        if resp.status_code == 206 and offset:
            if _content_range_start(resp.headers.get("Content-Range", "")) == offset:
                return resp, offset
            resp.close()
            return self.open_blob(repo, digest, 0)
        if resp.status_code == 416 and offset:
            resp.close()
            return self.open_blob(repo, digest, 0)
        if resp.status_code != 200:
            err = _error_from(resp, self._prefix(f"blob {digest}"))
            resp.close()
            raise err
        return resp, 0


    def list_tags(self, repo: str, name: str) -> list[str]:
        """Every tag of `repo` in the registry's order (GET /v2/REPO/tags/list, Link pages followed).

        `name` is the repository as the user knows it (`127.0.0.1:5000/app`), for messages."""
        errors: list[RegistryError] = []
        for ep in self._endpoint_chain():
            try:
                tags = self._list_tags(ep, repo, name)
            except RegistryError as e:
                errors.append(e)
                continue
            self._pinned = ep
            return tags
        raise _most_useful(errors)

    def _list_tags(self, ep: Endpoint, repo: str, name: str) -> list[str]:
        tags: list[str] = []
        path = f"/v2/{repo}/tags/list"
        for _ in range(MAX_TAG_PAGES):
            resp = self._send(ep, "GET", path, repo)
            try:
                if resp.status_code != 200:
                    raise _tags_error(resp, name)
                body, link = resp.content, resp.headers.get("Link", "")
            finally:
                resp.close()
            tags.extend(_tag_page(body, name))
            path = _next_page(link)
            if not path:
                return tags
        raise RegistryError(f"{name}: more than {MAX_TAG_PAGES} pages of tags")

def _content_range_start(value: str) -> int | None:
    """The first byte of `bytes START-END/SIZE`."""
    try:
        unit, _, rest = value.strip().partition(" ")
        return int(rest.split("-", 1)[0]) if unit == "bytes" else None
    except ValueError:
        return None


def _verify_manifest(data: bytes, ref: str, header: str, what: str) -> Digest:
    """sha256 of the bytes; fetched by digest it must equal that digest; Docker-Content-Digest checked."""
    if ref.count(":") == 1 and not ref.startswith(":"):
        want = Digest.parse(ref)
        got = Digest.of_bytes(data, want.algorithm)
        if got != want:
            raise DigestMismatchError(f"{what}: manifest content hashes to {got}, not {want}")
        return want
    digest = Digest.of_bytes(data)
    if header:
        try:
            claimed = Digest.parse(header)
        except ManifestError as e:
            raise DigestMismatchError(f"{what}: invalid Docker-Content-Digest {header!r}") from e
        if Digest.of_bytes(data, claimed.algorithm) != claimed:
            raise DigestMismatchError(f"{what}: manifest content does not match Docker-Content-Digest {claimed}")
    return digest


def _error_from(resp: "Response", what: str) -> RegistryError:
    """A RegistryError from the registry's JSON `errors` (first one), else from the status."""
    code, message = "", ""
    try:
        body = json.loads(resp.content or b"{}") if resp.request.method != "HEAD" else {}
        first = (body.get("errors") or [{}])[0]
        code, message = str(first.get("code", "")), str(first.get("message", ""))
    except (ValueError, AttributeError, IndexError, TypeError):
        pass
    code = code or _STATUS_CODES.get(resp.status_code, "")
    if code == "NOT_FOUND" and "/manifests/" in (resp.request.url or ""):
        code = "MANIFEST_UNKNOWN"
    reason = REASONS.get(code) or message.lower() or f"registry answered {resp.status_code}"
    cls = AuthError if code in ("UNAUTHORIZED", "DENIED") else RegistryError
    return cls(f"{what}: {reason}", code=code, status=resp.status_code)


def _tags_error(resp: "Response", name: str) -> RegistryError:
    """Docker's words for a repository the registry does not know; else what the registry said."""
    err = _error_from(resp, f"{name}: tags")
    if err.code in ("NAME_UNKNOWN", "NOT_FOUND") or resp.status_code == 404:
        return RegistryError(f"repository {name} not found: name unknown: repository name not known to registry",
                             code="NAME_UNKNOWN", status=resp.status_code)
    return err


def _tag_page(body: bytes, name: str) -> list[str]:
    """The `tags` of one tags/list answer (null for a repository without tags)."""
    try:
        tags = json.loads(body or b"{}").get("tags") or []
    except (ValueError, AttributeError) as e:
        raise RegistryError(f"{name}: the registry's tag list is not valid JSON") from e
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise RegistryError(f"{name}: the registry's tag list is not a list of strings")
    return tags


def _next_page(link: str) -> str:
    """The path of the next page from a `Link: <URL>; rel="next"` header (absolute URLs lose the host);
    "" when there is none."""
    for part in link.split(","):
        target, _, params = part.partition(";")
        if "rel=\"next\"" not in params.replace(" ", "") or "<" not in target:
            continue
        url = target.strip().strip("<>")
        if url.startswith(("http://", "https://")):
            url = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else ""
        return url if url.startswith("/v2/") else ""
    return ""

def _most_useful(errors: list[RegistryError]) -> RegistryError:
    """Across mirror fallbacks: prefer what a registry said (e.g. manifest unknown) over unreachable."""
    said = [e for e in errors if e.status]
    return said[0] if said else errors[-1]
