"""Pinned, streamed, resumable downloads of released upstream checkpoints.

The released checkpoints live on a public Hugging Face mirror, one repo per variant, each holding
``latest_ckpt.pth``. A download streams the file in 1 MiB chunks into ``<target>.part`` (never the
whole file in memory), resumes an interrupted ``.part`` with an HTTP ``Range`` request, hashes while
it writes, and renames the file into place only when its sha256 equals the pin. A mismatched file is
deleted. ``HF_ENDPOINT`` (as for ``huggingface_hub``) points the client at a mirror or a local server.

The client is a few lines of ``urllib`` rather than ``huggingface_hub.hf_hub_download``: the pin is
checked on the bytes as they are written, the file lands directly in ``$UNICORN_HOME`` (no second
copy in the Hub's blob cache, no Hub-specific metadata request), and resuming is ours to test. Against
a loopback server that drops the connection, ``hf_hub_download`` (huggingface_hub 2.4.0) retried the
transfer from byte 0 (no ``Range`` header) within the same call.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Any

from .errors import UserError

CHUNK_BYTES = 1 << 20
DEFAULT_ENDPOINT = "https://huggingface.co"
USER_AGENT = "unicorn-track (urllib)"


@dataclass(frozen=True)
class Pin:
    """Where a released checkpoint lives and what its bytes must hash to.

    Attributes:
        repo: Hugging Face repo id (``owner/name``).
        filename: file inside the repo.
        sha256: hex sha256 of the file, or None when not pinned (then the Hub's LFS sha256, sent as
            ``X-Linked-Etag``, is required instead).
        size: exact size in bytes when known.
    """

    repo: str
    filename: str = "latest_ckpt.pth"
    sha256: str | None = None
    size: int | None = None


# From the mirror's own file pages (LFS details); see the README's "Downloading released weights".
PINS: dict[str, Pin] = {
    "unicorn_track_tiny_mask": Pin(
        "NimaBoscarino/unicorn_track_tiny_mask",
        sha256="9df8454ebb2e10d652a688b58a99fe918836be2fa6d941629f0ef3ef88930fb7", size=279_740_687),
    "unicorn_track_r50_mask": Pin(
        "NimaBoscarino/unicorn_track_r50_mask",
        sha256="3425b4d7bc717f16a4b6d6c3488f7e51cf3698be646bc92f44ff34da144aeea8"),
    "unicorn_track_large_mask": Pin(
        "NimaBoscarino/unicorn_track_large_mask",
        sha256="f4ecd71b1779a6136686bc3c9577a4b13b882b97679a02345c15849805fe4b25"),
    "unicorn_track_tiny_rt_mask": Pin("NimaBoscarino/unicorn_track_tiny_rt_mask"),
}


def endpoint() -> str:
    """Base URL of the Hub (``$HF_ENDPOINT`` or https://huggingface.co), without a trailing slash."""
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def file_url(pin: Pin, base: str | None = None) -> str:
    """URL of a pinned file on the Hub (``{endpoint}/{repo}/resolve/main/{filename}``)."""
    return f"{(base or endpoint()).rstrip('/')}/{pin.repo}/resolve/main/{pin.filename}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003 - urllib's signature
        return None  # the Hub's first answer carries the LFS metadata; do not follow it to the CDN


def hub_sha256(url: str, timeout: float = 30.0) -> tuple[str, int | None]:
    """The LFS sha256 and size the Hub states for a file (``X-Linked-Etag``, ``X-Linked-Size``).

    Raises:
        UserError: the server gives no sha256 for the file.
    """
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        resp = opener.open(urllib.request.Request(url, method="HEAD", headers={"User-Agent": USER_AGENT}),
                           timeout=timeout)
        headers = resp.headers
    except urllib.error.HTTPError as err:  # a 302 to the CDN arrives here, with the Hub's headers
        if err.code not in (301, 302, 303, 307, 308):
            raise UserError(f"{url}: the server answered HTTP {err.code}") from None
        headers = err.headers
    except (urllib.error.URLError, OSError) as err:
        raise UserError(f"cannot reach {url} ({getattr(err, 'reason', err)})") from None
    digest = (headers.get("X-Linked-Etag") or "").strip('"').lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise UserError(f"{url} has no pinned sha256 here and the server states none; refusing an unchecked file")
    size = headers.get("X-Linked-Size")
    return digest, int(size) if size and size.isdigit() else None


def _hash_prefix(path: Path) -> Any:
    """A sha256 object fed with the bytes of ``path`` (streamed)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest


def _total_size(resp, start: int) -> int | None:
    """Full size of the file from a 200 (Content-Length) or 206 (Content-Range) answer."""
    rng = resp.headers.get("Content-Range", "")
    if resp.status == 206 and "/" in rng and rng.rsplit("/", 1)[1].isdigit():
        return int(rng.rsplit("/", 1)[1])
    length = resp.headers.get("Content-Length")
    return (int(length) + (start if resp.status == 206 else 0)) if length and length.isdigit() else None


def fetch(url: str, target: Path, sha256: str, size: int | None = None, desc: str | None = None,
          timeout: float = 60.0, progress: bool = True) -> Path:
    """Stream ``url`` into ``target``, resuming ``target.part``; keep the file only if its sha256 matches.

    Args:
        url: file URL (redirects are followed; ``Range`` goes with them).
        target: final path; written only after the checksum matched.
        sha256: expected hex sha256 of the whole file.
        size: expected size in bytes, if known (a server stating another size is refused).
        desc: label of the progress bar.
        timeout: seconds to wait for each network read.
        progress: show a tqdm bar on stderr.

    Returns:
        ``target``.

    Raises:
        UserError: network failure or interruption (the ``.part`` file is kept for the next call),
            or a checksum / size mismatch (the file is deleted).
    """
    from tqdm import tqdm

    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    start = part.stat().st_size if part.is_file() else 0
    if size is not None and start > size:
        part.unlink()
        start = 0
    if size is not None and start == size:  # complete but not yet checked (a crash before the rename)
        done, got = start, _hash_prefix(part).hexdigest()
    else:
        done, got = _stream(url, part, start, size, desc or target.name, timeout, progress, tqdm)
    if got != sha256.lower():
        part.unlink(missing_ok=True)
        raise UserError(f"checksum mismatch for {desc or target.name}: got sha256 {got[:12]}..., expected "
                        f"{sha256[:12]}... ({done} bytes from {url}); the file was deleted, try again")
    os.replace(part, target)
    return target


def _stream(url: str, part: Path, start: int, size: int | None, desc: str, timeout: float,
            progress: bool, tqdm) -> tuple[int, str]:
    """Append the rest of ``url`` to ``part`` from byte ``start``; return the final size and sha256."""
    headers = {"User-Agent": USER_AGENT, **({"Range": f"bytes={start}-"} if start else {})}
    request = urllib.request.Request(url, headers=headers)
    try:
        resp = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and start:  # nothing after byte `start`: the .part file is already whole
            return start, _hash_prefix(part).hexdigest()
        raise UserError(f"download of {desc} from {url} failed: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        raise UserError(f"cannot reach {url} ({getattr(err, 'reason', err)}); check the network and retry") from None
    with resp:
        if start and resp.status != 206:  # the server ignored the Range: start again
            start = 0
        digest = _hash_prefix(part) if start else hashlib.sha256()
        total = _total_size(resp, start)
        if size is not None and total is not None and total != size:
            raise UserError(f"{url} is {total} bytes, but the pinned {desc} is {size} bytes; refusing it")
        n = start
        bar = tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                   file=sys.stderr, disable=not progress)
        try:
            with open(part, "ab" if start else "wb") as fh:
                while True:
                    block = resp.read(CHUNK_BYTES)
                    if not block:
                        break
                    fh.write(block)
                    digest.update(block)
                    n += len(block)
                    bar.update(len(block))
        except (HTTPException, OSError) as err:
            raise UserError(f"download of {desc} interrupted after {n} of {total or '?'} bytes ({err}); "
                            "run the same command again to resume") from None
        finally:
            bar.close()
    if total is not None and n != total:
        raise UserError(f"download of {desc} interrupted after {n} of {total} bytes (the server closed the "
                        "connection); run the same command again to resume")
    return n, digest.hexdigest()
