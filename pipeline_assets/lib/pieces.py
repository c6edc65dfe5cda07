"""A landing file's text in pieces that end where a CSV record ends, streamed from its bytes.

The validation reads a file of any size in bounded memory: its bytes arrive in chunks, are
decoded as UTF-8 as they come (the first byte that is not UTF-8 is named with its offset and
line, as a whole-file decode names it), and the text is cut into pieces of about
`piece_chars` characters. A piece ends at a line end outside any quoted field, so no record
spans two pieces, and it carries the physical line it starts on: the SQL numbers its lines as
the file's own. A `\\r` is never cut from the `\\n` after it.

Whether a line end is outside a quoted field follows from the lines before it, by the per-line
rules the SQL applies (`rules.LINE_PATTERNS`, `sql/validate_quoted_records.sql`), so both
agree on every line, readable or not. The state is worked out only near each cut: back to the
nearest line whose quotes settle it whichever state the line starts in (nearly every line
that holds a quote), then forward. A text without any `"` is cut at any line end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline_assets.lib.file_checks import FileRejected
from pipeline_assets.lib.rules import LINE_PATTERNS

BOM = b"\xef\xbb\xbf"
_OPENS_FROM_OUTSIDE = re.compile(LINE_PATTERNS["opens_from_outside"])
_OPEN_FROM_INSIDE = re.compile(LINE_PATTERNS["open_from_inside"])


@dataclass(frozen=True)
class Piece:
    text: str
    first_line: int  # the file's physical line the text starts on (1 for the first piece)
    last: bool  # the file's last piece


def line_ends(text: str | bytes) -> int:
    """Physical line ends in a text that does not split a `\\r\\n`: `\\n`, `\\r\\n`, lone `\\r`."""
    if isinstance(text, bytes):
        return text.count(b"\n") + text.count(b"\r") - text.count(b"\r\n")
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _ends_inside(body: str, inside: bool) -> bool:
    """Whether a line (without its line end) ends inside a quoted field, from its start state."""
    if '"' not in body:
        return inside
    pattern = _OPEN_FROM_INSIDE if inside else _OPENS_FROM_OUTSIDE
    return pattern.fullmatch(body) is not None


def _line_around(text: str, at: int) -> tuple[int, int]:
    """(start, end) of the body of the line holding position `at`; end -1: not ended yet."""
    start = max(text.rfind("\n", 0, at), text.rfind("\r", 0, at)) + 1
    ends = [i for i in (text.find("\n", at), text.find("\r", at)) if i >= 0]
    return start, min(ends, default=-1)


def _after_line_end(text: str, end: int, eof: bool) -> int | None:
    """The position after the line end at `end`; None if a final `\\r` may yet get its `\\n`."""
    if text[end] == "\r":
        if end + 1 == len(text):
            return None if not eof else end + 1
        return end + 2 if text[end + 1] == "\n" else end + 1
    return end + 1


def _inside_at(text: str, cut: int) -> bool:
    """Whether the line start `cut` is inside a quoted field (`text` starts outside one)."""
    flips: list[tuple[bool, bool]] = []  # lines with a quote, last first: (from outside, inside)
    state, pos = False, cut
    while (quote := text.rfind('"', 0, pos)) >= 0:  # lines without a quote keep the state
        start, end = _line_around(text, quote)
        body = text[start:end]
        outside, inside = _ends_inside(body, False), _ends_inside(body, True)
        if outside == inside:  # this line settles the state
            state = outside
            break
        flips.append((outside, inside))
        pos = start
    for outside, inside in reversed(flips):
        state = inside if state else outside
    return state


def _next_outside(text: str, pos: int, eof: bool) -> int | None:
    """The first line end after the line start `pos`, inside a quoted field, that is outside
    one; None if the text ends first."""
    while (quote := text.find('"', pos)) >= 0:
        start, end = _line_around(text, quote)
        if end < 0:
            return None
        after = _after_line_end(text, end, eof)
        if after is None:
            return None
        if not _ends_inside(text[start:end], True):
            return after
        pos = after
    return None


def cut_at(text: str, target: int, eof: bool) -> int | None:
    """Where the next piece of `text` (which starts outside any quoted field) ends: after a
    line end outside quoted fields, the last one before `target` characters or else the first
    after; None when the text ends before such a line end."""
    end = max(text.rfind("\n", 0, target), text.rfind("\r", 0, target))
    if end < 0:
        ends = [i for i in (text.find("\n", target), text.find("\r", target)) if i >= 0]
        if not ends:
            return None
        end = min(ends)
    cut = _after_line_end(text, end, eof)
    if cut is None or text.find('"', 0, cut) < 0 or not _inside_at(text, cut):
        return cut
    return _next_outside(text, cut, eof)


def decoded(key: str, chunks: Iterable[bytes]) -> Iterator[str]:
    """The file's text, a chunk at a time, without a leading byte-order mark. The first byte
    that is not UTF-8 raises `FileRejected` naming its line and its offset in the file."""
    offset, lines, last_cr = 0, 1, False  # bytes decoded; the line there; it followed a \r
    pending = b""  # bytes not decoded yet: the start of the file, or a character cut in two
    started = False
    for chunk in chunks:
        data = pending + chunk if pending else chunk
        if not started:
            if len(data) < len(BOM) and BOM.startswith(data):
                pending = data
                continue
            started = True
            if data.startswith(BOM):
                data, offset = data[len(BOM) :], len(BOM)
        try:
            text, pending = data.decode("utf-8"), b""
        except UnicodeDecodeError as e:
            if e.reason != "unexpected end of data" or e.end != len(data):
                raise _not_utf8(key, data, e.start, offset, lines, last_cr) from None
            text, pending = data[: e.start].decode("utf-8"), data[e.start :]
        done = data[: len(data) - len(pending)]
        if done:
            lines += line_ends(done) - (last_cr and done[:1] == b"\n")
            last_cr = done[-1:] == b"\r"
            offset += len(done)
        yield text
    if pending:  # a character cut short by the end, or a file shorter than a BOM
        try:
            yield pending.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _not_utf8(key, pending, e.start, offset, lines, last_cr) from None


def _not_utf8(key: str, data: bytes, at: int, offset: int, lines: int, last_cr: bool) -> Exception:
    before = data[:at]
    line = lines + line_ends(before) - (last_cr and before[:1] == b"\n")
    return FileRejected(
        f"{key}: line {line}: not valid UTF-8 (byte 0x{data[at]:02x} at offset {offset + at})"
    )


def file_pieces(key: str, chunks: Iterable[bytes], piece_chars: int) -> Iterator[Piece]:
    """A file's text in pieces of about `piece_chars` characters, cut at record ends (a
    record longer than that is one piece); at least one piece, the last marked."""
    buffered: list[str] = []
    size, line = 0, 1
    ready = piece_chars  # try to cut once this much is buffered (doubles after a miss)
    for text in decoded(key, chunks):
        buffered.append(text)
        size += len(text)
        if size < ready:
            continue
        rest = "".join(buffered)
        while (cut := cut_at(rest, piece_chars, eof=False)) is not None:
            piece, rest = rest[:cut], rest[cut:]
            yield Piece(piece, line, last=False)
            line += line_ends(piece)
            if len(rest) < piece_chars:
                break
        buffered, size = [rest], len(rest)
        ready = piece_chars if size < piece_chars else 2 * size  # a long record: wait for more
    rest = "".join(buffered)
    while len(rest) > piece_chars and (cut := cut_at(rest, piece_chars, eof=True)) is not None:
        if cut == len(rest):
            break
        piece, rest = rest[:cut], rest[cut:]
        yield Piece(piece, line, last=False)
        line += line_ends(piece)
    yield Piece(rest, line, last=True)
