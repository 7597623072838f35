"""The push side of the distribution v2 API: one repository of one registry, with push-scoped auth.

Lifecycle: `UploadClient(ref_domain, repo, settings, transport, context)` per push. Every request
carries the scope `repository:REPO:pull,push` (plus `repository:FROM:pull` for a cross-repo mount)
and does the auth dance once per 401 (bearer token or basic). Blob uploads follow the spec:
`POST .../blobs/uploads/` -> Location; monolithic `PUT <loc>?digest=` or chunked `PATCH <loc>`
with `Content-Range: start-end` (the newest Location each time), `GET <loc>` -> `Range` tells how
much the registry holds, `PUT <loc>?digest=` closes, `DELETE <loc>` aborts. Manifests are PUT with
their own media type as Content-Type, bytes verbatim. Registry errors become RegistryError/AuthError
with Docker's wording (`push localhost:5000/x: denied: requested access to the resource is denied`).
"""

import contextlib
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode, urljoin

from minidock.config import read_credentials
from minidock.errors import AuthError, DigestMismatchError, RegistryError
from minidock.image.auth import Authenticator, parse_challenges
from minidock.image.reference import DEFAULT_DOMAIN, DOCKER_HUB_API_HOST
from minidock.image.registry import REASONS
from minidock.nouns import NamedTuple
from minidock.oci.digest import Digest
from minidock.store.atomic import atomic_write_json, read_json

if TYPE_CHECKING:
    from _typeshed import StrPath

    from minidock.config import Settings
    from minidock.image.transport import Response, Transport

OCTET = "application/octet-stream"
MESSAGES = {
    **REASONS,
    "BLOB_UPLOAD_INVALID": "blob upload invalid", "BLOB_UPLOAD_UNKNOWN": "blob upload unknown to registry",
    "MANIFEST_BLOB_UNKNOWN": "blob unknown to registry", "SIZE_INVALID": "provided length did not match content length",
    "UNAUTHORIZED": "authentication required",
}
_STATUS_CODES = {401: "UNAUTHORIZED", 403: "DENIED", 404: "NOT_FOUND", 416: "RANGE_INVALID", 429: "TOOMANYREQUESTS"}


class UploadClient:
    """Blob uploads, mounts and manifest PUTs to one repository (see the module docstring)."""

    def __init__(self, domain: str, repo: str, settings: "Settings", transport: "Transport", context: str = "") -> None:
        self.domain, self.repo, self.transport = domain, repo, transport
        self.context = context or f"push {domain}/{repo}"
        host = DOCKER_HUB_API_HOST if domain == DEFAULT_DOMAIN else domain
        self.base = transport.base_url(host)
        self.auth = Authenticator(transport, read_credentials(domain))
        self.scope = f"repository:{repo}:pull,push"
        del settings  # the transport carries them; kept in the signature for symmetry with RegistryClient

    # ---- low level -------------------------------------------------------------------------------
    def url(self, location: str) -> str:
        """A Location header (absolute or relative) as an absolute URL."""
        return urljoin(self.base + "/", location)

    def send(self, method: str, url: str, *, headers: dict[str, str] | None = None, data: bytes | None = None,
             scope: str = "") -> "Response":
        """One request with the auth dance: cached header, one answer to a 401, then AuthError."""
        scope = scope or self.scope
        hdrs = dict(headers or {})
        known = self.auth.header(scope)
        if known:
            hdrs["Authorization"] = known
        resp = self.transport.request(method, url, headers=hdrs, data=data)
        if resp.status_code != 401:
            return resp
        challenge = resp.headers.get("WWW-Authenticate", "")
        resp.close()
        hdrs["Authorization"] = self.auth.answer(challenge, scope, self.context)
        resp = self.transport.request(method, url, headers=hdrs, data=data)
        if resp.status_code == 401:
            insufficient = any(c.params.get("error") == "insufficient_scope"
                               for c in parse_challenges(resp.headers.get("WWW-Authenticate", "")))
            err = error_from(resp, self.context)
            resp.close()
            if insufficient or self.auth.credentials:
                raise AuthError(f"{self.context}: denied: {MESSAGES['DENIED']}", code="DENIED", status=401)
            raise err
        return resp

    def _expect(self, resp: "Response", statuses: tuple[int, ...], what: str = "") -> "Response":
        if resp.status_code in statuses:
            return resp
        err = error_from(resp, f"{self.context}{': ' + what if what else ''}")
        resp.close()
        raise err

    # ---- blobs ------------------------------------------------------------------------------------
    def blob_exists(self, digest: Digest) -> bool:
        """HEAD the blob: True when the repository already has it."""
        resp = self.send("HEAD", f"{self.base}/v2/{self.repo}/blobs/{digest}")
        resp.close()
        if resp.status_code == 404:
            return False
        self._expect(resp, (200,), f"blob {digest.short}")
        return True

    def mount(self, digest: Digest, source: str) -> str | None:
        """Cross-repo mount from `source`: None when mounted (201), else the upload Location it fell back to."""
        query = urlencode({"mount": str(digest), "from": source})
        url = f"{self.base}/v2/{self.repo}/blobs/uploads/?{query}"
        try:
            resp = self.send("POST", url, scope=f"{self.scope} repository:{source}:pull")
        except AuthError:
            return self.start()  # no pull right on the source: a plain upload does it
        self._expect(resp, (201, 202), f"mount {digest.short} from {source}")
        resp.close()
        if resp.status_code == 201:
            return None
        return self._location(resp)

    def start(self) -> str:
        """POST a new upload session; its Location."""
        resp = self._expect(self.send("POST", f"{self.base}/v2/{self.repo}/blobs/uploads/"), (202,),
                            "start upload")
        resp.close()
        return self._location(resp)

    def _location(self, resp: "Response") -> str:
        loc = resp.headers.get("Location", "")
        if not loc:
            raise RegistryError(f"{self.context}: upload answered {resp.status_code} without a Location")
        return self.url(loc)

    def offset(self, location: str) -> int | None:
        """How many bytes the registry holds for the upload at `location` (GET -> 204 + Range), None if gone."""
        resp = self.send("GET", location)
        resp.close()
        if resp.status_code not in (200, 204):
            return None
        end = parse_range_end(resp.headers.get("Range", ""))
        return None if end is None else end

    def patch(self, location: str, start: int, data: bytes) -> str:
        """Send one chunk at `start`; returns the new Location (always use the newest)."""
        headers = {"Content-Type": OCTET, "Content-Range": f"{start}-{start + len(data) - 1}",
                   "Content-Length": str(len(data))}
        resp = self._expect(self.send("PATCH", location, headers=headers, data=data), (202,),
                            f"upload chunk at {start}")
        resp.close()
        end = parse_range_end(resp.headers.get("Range", ""))
        if end not in (None, 0) and end != start + len(data):
            raise RegistryError(f"{self.context}: registry holds {end} bytes after a chunk ending at "
                                f"{start + len(data)}", code="BLOB_UPLOAD_INVALID")
        return self._location(resp) if resp.headers.get("Location") else location

    def finish(self, location: str, digest: Digest, data: bytes = b"") -> None:
        """PUT <location>?digest=: closes the upload (with the last bytes, or all of them: monolithic)."""
        url = location + ("&" if "?" in location else "?") + "digest=" + quote(str(digest))
        headers = {"Content-Type": OCTET, "Content-Length": str(len(data))}
        resp = self.send("PUT", url, headers=headers, data=data)
        if resp.status_code == 400 and _first_code(resp) == "DIGEST_INVALID":
            resp.close()
            raise DigestMismatchError(f"{self.context}: blob {digest}: {MESSAGES['DIGEST_INVALID']}")
        self._expect(resp, (201, 204), f"blob {digest.short}")
        resp.close()

    def cancel(self, location: str) -> None:
        """DELETE an upload session (best effort)."""
        with contextlib.suppress(RegistryError):
            self.send("DELETE", location).close()

    # ---- manifests --------------------------------------------------------------------------------
    def put_manifest(self, reference: str, data: bytes, media_type: str) -> Digest:
        """PUT the manifest bytes verbatim under `reference` (tag or digest); returns their digest."""
        digest = Digest.of_bytes(data)
        resp = self.send("PUT", f"{self.base}/v2/{self.repo}/manifests/{reference}",
                         headers={"Content-Type": media_type}, data=data)
        self._expect(resp, (200, 201), f"manifest {reference}")
        resp.close()
        claimed = resp.headers.get("Docker-Content-Digest", "")
        if claimed and claimed != str(digest):
            raise DigestMismatchError(f"{self.context}: registry says the manifest is {claimed}, not {digest}")
        return digest


def parse_range_end(value: str) -> int | None:
    """Bytes held according to a `Range: 0-END` header (END inclusive); "0-0" may mean 0 or 1 byte: 0 here."""
    value = value.strip().removeprefix("bytes=")
    start, sep, end = value.partition("-")
    if not sep or not start.isdigit() or not end.isdigit():
        return None
    return 0 if int(end) == 0 else int(end) + 1


def _first_code(resp: "Response") -> str:
    try:
        body = json.loads(resp.content or b"{}")
        return str((body.get("errors") or [{}])[0].get("code", ""))
    except (ValueError, AttributeError, IndexError, TypeError):
        return ""


def error_from(resp: "Response", what: str) -> RegistryError:
    """Docker's wording of a registry error: `WHAT: code words: message` (first JSON error, else the status)."""
    code, message = "", ""
    if resp.request.method != "HEAD":
        try:
            body = json.loads(resp.content or b"{}")
            first = (body.get("errors") or [{}])[0]
            code, message = str(first.get("code", "")), str(first.get("message", ""))
        except (ValueError, AttributeError, IndexError, TypeError):
            pass
    code = code or _STATUS_CODES.get(resp.status_code, "")
    text = message or MESSAGES.get(code, "") or f"registry answered {resp.status_code}"
    words = code.lower().replace("_", " ")
    reason = f"{words}: {text}" if words and words != text else text
    cls = AuthError if code in ("UNAUTHORIZED", "DENIED") else RegistryError
    return cls(f"{what}: {reason}", code=code, status=resp.status_code)


# ---- one blob, whole or in resumable chunks ---------------------------------------------------------
class UploadOptions(NamedTuple):
    """Blobs above `chunk_threshold` bytes go in `chunk_size` PATCHes; `restarts` bounds recoveries per blob."""

    chunk_threshold: int = 10 << 20
    chunk_size: int = 8 << 20
    restarts: int = 3


def state_dir(base: "StrPath", client: UploadClient, digest: Digest) -> Path:
    """Where the resume state of `digest`'s upload to `client`'s repository lives (below the ingest dir)."""
    key = hashlib.sha256(f"{client.base}/{client.repo}@{digest}".encode()).hexdigest()[:32]
    return Path(base) / f"push-{key}"


def upload_blob(client: UploadClient, digest: Digest, path: Path, opts: UploadOptions, *,
                state: Path | None = None, on_bytes: Callable[[int], None] | None = None) -> int:
    """Upload the blob stored at `path` (verified by the registry against `digest`); returns its size.

    Small blobs: one POST and one monolithic PUT. Large ones: PATCH chunks; after each chunk the
    newest Location and offset are kept in `state` so a later push (or this one, after a failed
    chunk) asks the registry how much it holds (GET) and continues from there; an upload the
    registry no longer knows is started again from byte 0.
    """
    size = path.stat().st_size
    report = on_bytes or (lambda _n: None)
    if size <= opts.chunk_threshold:
        data = path.read_bytes()
        for attempt in range(opts.restarts + 1):
            try:
                client.finish(client.start(), digest, data)
                break
            except AuthError:
                raise
            except RegistryError:
                if attempt == opts.restarts:
                    raise
        report(size)
        return size
    _Chunked(client, digest, path, opts, state=state, report=report).run(size)
    return size


class _Chunked:
    """The state of one chunked upload (location, offset), persisted after every chunk."""

    def __init__(self, client: UploadClient, digest: Digest, path: Path, opts: UploadOptions, *,
                 state: Path | None, report: Callable[[int], None]) -> None:
        self.client, self.digest, self.path, self.opts = client, digest, path, opts
        self.state, self.report = state, report
        self.location, self.offset = "", 0

    def run(self, size: int) -> None:
        self._resume_or_start()
        failures = 0
        with open(self.path, "rb") as f:
            while self.offset < size:
                f.seek(self.offset)
                data = f.read(min(self.opts.chunk_size, size - self.offset))
                try:
                    self.location = self.client.patch(self.location, self.offset, data)
                except AuthError:
                    raise
                except RegistryError:
                    failures += 1
                    if failures > self.opts.restarts:
                        raise
                    self._recover(size)
                    continue
                self.offset += len(data)
                self._save()
                self.report(self.offset)
        self.client.finish(self.location, self.digest)
        self._clear()

    def _resume_or_start(self) -> None:
        saved = read_json(self.state / "upload.json", None) if self.state else None
        if isinstance(saved, dict) and isinstance(saved.get("location"), str):
            held = self.client.offset(str(saved["location"]))
            if held is not None:
                self.location, self.offset = str(saved["location"]), held
                self.report(held)
                return
        self._start()

    def _start(self) -> None:
        self.location, self.offset = self.client.start(), 0
        self._save()

    def _recover(self, size: int) -> None:
        """After a failed chunk: continue where the registry says it is, or start again."""
        held = self.client.offset(self.location)
        if held is None or held > size:
            self.client.cancel(self.location)
            self._start()
        else:
            self.offset = held

    def _save(self) -> None:
        if self.state is not None:
            atomic_write_json(self.state / "upload.json", {"location": self.location, "offset": self.offset,
                                                            "digest": str(self.digest)})

    def _clear(self) -> None:
        if self.state is not None:
            shutil.rmtree(self.state, ignore_errors=True)
