"""Receiving an upload: the multipart body is parsed as it streams in (python-multipart's
``MultipartParser``), and the file part is written once, straight into its folder in the data
folder. Nothing is spooled to the system temp folder and nothing is copied.

Bounded by design: at most one file part and ``MAX_FIELDS`` short text fields, part headers
capped by the parser, the file written in pieces of at most ``FLUSH_BYTES``; the body's total
size and pace are limited by ``api.limits.BodyLimits``. A body that breaks off, is malformed or
is refused for any reason leaves nothing behind: the caller removes the folder.

The file is stored under a neutral name (``upload`` plus the extension the client gave), so the
client's file name never reaches the analysis libraries, their messages or the logs; the name
the client gave is returned for the record.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from fastapi import HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from api.privacy import FILE_MODE

FILE_FIELD = "file"
MAX_FIELDS = 10
MAX_FIELD_BYTES = 1024  # a label of 100 characters is at most 400 bytes of UTF-8
FLUSH_BYTES = 1 << 20
EXTENSION = re.compile(r"\.[a-z0-9]{1,10}")
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def no_room(e: OSError) -> Exception:
    """507 when the disk (or the file size the service may write) is full; else ``e``."""
    if e.errno in NO_ROOM:
        return HTTPException(
            status.HTTP_507_INSUFFICIENT_STORAGE,
            "no room on the server for this upload now; try again later",
        )
    return e


def stored_name(client_name: str | None) -> str:
    """``upload`` with the extension of the client's file name if it has a plain one, else
    ``.bin`` (a name that cannot be mistaken for a word in a message)."""
    suffix = Path((client_name or "").replace("\\", "/").split("/")[-1]).suffix.lower()
    return "upload" + (suffix if EXTENSION.fullmatch(suffix) else ".bin")


@dataclass(frozen=True)
class Upload:
    path: Path
    client_name: str | None
    size_bytes: int
    fields: dict[str, str]


@dataclass
class _Part:
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    name: str = ""
    data: bytearray = field(default_factory=bytearray)
    is_file: bool = False


class _Form:
    """python-multipart callbacks: text fields kept in memory (short), the file part buffered
    up to ``FLUSH_BYTES`` and then written by ``flush`` (off the event loop)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fields: dict[str, str] = {}
        self.file: BinaryIO | None = None
        self.path: Path | None = None
        self.client_name: str | None = None
        self.size_bytes = 0
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.ended = False
        self._part = _Part()
        self._header_name = b""
        self._header_value = b""

    # -- python-multipart callbacks ---------------------------------------------------------
    def on_part_begin(self) -> None:
        self._part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._part.headers.append((self._header_name.lower(), self._header_value))
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        disposition = next((v for k, v in self._part.headers if k == b"content-disposition"), b"")
        _, options = parse_options_header(disposition)
        if b"name" not in options:
            raise _unprocessable("a form part has no name (Content-Disposition)")
        self._part.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" not in options:
            if len(self.fields) >= MAX_FIELDS:
                raise _unprocessable(f"too many form fields (at most {MAX_FIELDS})")
            return
        if self._part.name != FILE_FIELD:
            raise _unprocessable(f"unexpected file field {self._part.name!r}; send it as 'file'")
        if self.file is not None:
            raise _unprocessable("only one file per upload")
        self._part.is_file = True
        self.client_name = options[b"filename"].decode("utf-8", "replace")
        self.path = self.folder / stored_name(self.client_name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        self.file = os.fdopen(os.open(self.path, flags, FILE_MODE), "wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part.is_file:
            chunk = data[start:end]
            self.pending.append(chunk)
            self.pending_bytes += len(chunk)
            self.size_bytes += len(chunk)
            return
        if len(self._part.data) + (end - start) > MAX_FIELD_BYTES:
            raise _unprocessable(f"form field {self._part.name!r} is too long")
        self._part.data += data[start:end]

    def on_part_end(self) -> None:
        if self._part.is_file:
            return
        if self._part.name in self.fields:
            raise _unprocessable(f"form field {self._part.name!r} is given twice")
        try:
            self.fields[self._part.name] = self._part.data.decode("utf-8")
        except UnicodeDecodeError:
            raise _unprocessable(f"form field {self._part.name!r} is not UTF-8 text") from None

    def on_end(self) -> None:
        self.ended = True

    # -- writing ------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write what is buffered (called in a worker thread)."""
        if self.file is not None and self.pending:
            self.file.writelines(self.pending)
            self.file.flush()  # a full disk shows here, not at close
        self.pending.clear()
        self.pending_bytes = 0

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def _boundary(request: Request) -> bytes:
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not params.get(b"boundary"):
        raise _unprocessable("expected multipart/form-data with a file")
    charset = params.get(b"charset", b"utf-8").decode("latin-1")
    try:
        if codecs.lookup(charset).name != "utf-8":
            raise _unprocessable("form fields must be UTF-8")
    except LookupError:
        raise _unprocessable(f"unknown charset {charset!r}") from None
    return params[b"boundary"]


async def receive_upload(request: Request, folder: Path) -> Upload:
    """Stream the multipart body of ``request`` into ``folder`` (which must exist and be
    empty); 422 for a malformed body, a missing or empty file. On any error the caller removes
    ``folder``; ``api.limits.BodyRefusedError`` (413/408) passes through."""
    form = _Form(folder)
    parser = MultipartParser(
        _boundary(request),
        {
            "on_part_begin": form.on_part_begin,
            "on_part_data": form.on_part_data,
            "on_part_end": form.on_part_end,
            "on_header_field": form.on_header_field,
            "on_header_value": form.on_header_value,
            "on_header_end": form.on_header_end,
            "on_headers_finished": form.on_headers_finished,
            "on_end": form.on_end,
        },
    )
    try:
        async for chunk in request.stream():
            try:
                parser.write(chunk)
            except (HTTPException, OSError):
                raise
            except Exception as e:  # python-multipart's parse errors: the client's fault
                raise _unprocessable(f"malformed multipart body ({type(e).__name__})") from None
            if form.pending_bytes >= FLUSH_BYTES:
                await run_in_threadpool(form.flush)
            if form.ended:
                break
        await run_in_threadpool(form.flush)
    except OSError as e:  # writing the file: the disk is full, or another server problem
        raise no_room(e) from None
    except ClientDisconnect:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "the upload broke off before it was complete"
        ) from None
    finally:
        with contextlib.suppress(OSError):  # all was flushed: only a failed upload gets here
            form.close()
    if not form.ended:
        raise _unprocessable("the upload ended before the end of the multipart body")
    if form.path is None:
        raise _unprocessable(f"missing file field {FILE_FIELD!r}")
    if form.size_bytes == 0:
        raise _unprocessable("the file is empty")
    return Upload(form.path, form.client_name, form.size_bytes, form.fields)
