"""Attachment files: type by magic bytes, size-limited, stored once by SHA-256."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 64 * 1024
SHA256_PATTERN = r"^[0-9a-f]{64}$"
_SHA256 = re.compile(SHA256_PATTERN)

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
ALLOWED_TYPES = IMAGE_TYPES | {"application/pdf"}


class Rejected(Exception):
    """The upload is not acceptable; `reason` says why in a sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sniff(head: bytes) -> str | None:
    """The content type the bytes say they are, among the allowed ones; None otherwise."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


# How many of the last bytes are kept to check the file ends as its type must.
TAIL = 1024


def ends_as_it_starts(content_type: str, head: bytes, tail: bytes, size: int) -> bool:
    """Whether the file ends the way its type says a whole file ends.

    The header alone would pass anything behind a magic number (a PNG signature in
    front of an executable); a file that really is an image or a PDF also ends like one.
    """
    if content_type == "image/png":
        return tail.endswith(b"IEND\xaeB`\x82")
    if content_type == "image/jpeg":
        return tail.rstrip(b"\x00").endswith(b"\xff\xd9")
    if content_type == "image/gif":
        return tail.endswith(b"\x3b")
    if content_type == "image/webp":
        declared = int.from_bytes(head[4:8], "little") + 8
        return size in (declared, declared + 1)
    if content_type == "application/pdf":
        return b"%%EOF" in tail[-TAIL:]
    return False


def describe(head: bytes) -> str:
    """A few words on what a rejected file looks like, for the error message."""
    if head.startswith(b"\x7fELF"):
        return "an ELF executable"
    if head.startswith(b"MZ"):
        return "a Windows executable"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive"
    text = head.lstrip()[:100].lower()
    if text.startswith((b"<!doctype html", b"<html", b"<script", b"<svg", b"<?xml")):
        return "HTML, SVG or XML"
    return "an unsupported type"


def safe_filename(name: str | None, content_type: str) -> str:
    """The uploaded name without paths or control characters, NFC, at most 200 characters."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not base:
        base = "attachment." + content_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")
    return base[:200]


@dataclass(frozen=True)
class Stored:
    sha256: str
    content_type: str
    size: int
    path: Path
    created: bool  # False when the same bytes were already stored


class AttachmentStore:
    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path_for(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256

    def save(self, source: BinaryIO | Iterable[bytes]) -> Stored:
        """Stream `source` to a temp file (hashing, counting), check it, then move it in place."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        head = b""
        tail = b""
        fd, tmp_name = tempfile.mkstemp(prefix=".upload-", dir=self.root)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(source):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise Rejected(
                            f"file is larger than the limit of {human_size(self.max_bytes)}; "
                            "upload a smaller file"
                        )
                    if len(head) < 64:
                        head += chunk[: 64 - len(head)]
                    tail = (tail + chunk)[-TAIL:]
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size == 0:
                raise Rejected("file is empty")
            content_type = sniff(head)
            if content_type is None:
                raise Rejected(
                    f"file content is {describe(head)}; only PNG, JPEG, GIF, WebP images and PDF "
                    "documents are accepted (the type is read from the content, not the name)"
                )
            if not ends_as_it_starts(content_type, head, tail, size):
                kind = content_type.rsplit("/", 1)[-1].upper().replace("JPEG", "JPEG image")
                raise Rejected(
                    f"file starts like a {kind} but does not end like one: it is damaged, cut "
                    "short or carries something else; upload the original file"
                )
            sha256 = digest.hexdigest()
            final = self.path_for(sha256)
            created = not final.exists()
            if created:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, final)
            return Stored(sha256=sha256, content_type=content_type, size=size, path=final, created=created)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def discard(self, stored: Stored) -> None:
        """Undo a save whose database row was not written."""
        if stored.created:
            with contextlib.suppress(FileNotFoundError):
                stored.path.unlink()


def _chunks(source: BinaryIO | Iterable[bytes]) -> Iterable[bytes]:
    if hasattr(source, "read"):
        while chunk := source.read(CHUNK):
            yield chunk
    else:
        yield from source


def human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    if n >= 1024:
        return f"{n / 1024:g} KB"
    return f"{n} bytes"
