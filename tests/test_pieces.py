"""`lib/pieces.py`: a file streamed in chunks, decoded and cut into pieces at record ends.

The pieces put together are the file's text (without a byte-order mark); each piece but the
last ends at a line end outside any quoted field, as the SQL's per-line state machine judges
it when it reads the whole file from its start (checked here against that machine, line by
line, in Python); no piece ends between a `\\r` and its `\\n`; each piece knows the physical
line it starts on. Whatever the chunk and piece sizes.
"""

import re

import pytest
from helpers import chunked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_assets.lib.file_checks import FileRejected
from pipeline_assets.lib.pieces import decoded, file_pieces, line_ends
from pipeline_assets.lib.rules import LINE_PATTERNS

KEY = "customers/date=2024-01-01/a.csv"
FIXED_SEED = settings(
    derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
PATTERNS = {name: re.compile(p) for name, p in LINE_PATTERNS.items()}


def outside_line_ends(text: str) -> set[int]:
    """Every position just after a line end where a reader of the whole text, line by line
    from its start, is outside any quoted field (the SQL's state machine)."""
    inside, found = False, set()
    for line in re.finditer(r"([^\r\n]*)(\r\n|\r|\n|$)", text):
        if not line.group(0):
            break
        body = line.group(1)
        if '"' in body:
            pattern = PATTERNS["open_from_inside" if inside else "opens_from_outside"]
            inside = pattern.fullmatch(body) is not None
        if line.group(2) and not inside:
            found.add(line.end())
    return found


def pieces_of(data: bytes, piece_chars: int, chunk_bytes: int):
    return list(file_pieces(KEY, chunked(data, chunk_bytes), piece_chars))


def assert_well_cut(text: str, pieces) -> None:
    assert "".join(p.text for p in pieces) == text
    assert [p.last for p in pieces] == [False] * (len(pieces) - 1) + [True]
    cuts, at, line = outside_line_ends(text), 0, 1
    for piece in pieces:
        assert piece.first_line == line
        at += len(piece.text)
        line += line_ends(piece.text)
        if not piece.last:
            assert at in cuts, (at, text[max(at - 10, 0) : at + 10])


csv_text = st.lists(
    st.sampled_from(["a", "bb", ",", ",", '"', '"', '""', " ", "\n", "\n", "\r\n", "\r", "é"]),
    max_size=60,
).map("".join)


@settings(FIXED_SEED, max_examples=400)
@given(csv_text, st.sampled_from([None, "\ufeff"]), st.integers(1, 12), st.integers(1, 9))
def test_pieces_end_only_where_a_whole_file_reader_is_outside_quotes(
    text, bom, piece_chars, chunk_bytes
):
    data = ((bom or "") + text).encode()
    assert_well_cut(text, pieces_of(data, piece_chars, chunk_bytes))


def test_a_quoted_field_with_line_ends_is_never_cut():
    record = 'c1,"first\nsecond\r\nthird\rfourth",x\n'
    text = "customer_id,name,x\n" + record * 5
    pieces = pieces_of(text.encode(), 3, 4)
    assert [p.text for p in pieces[1:]] == [record] * 5  # one record a piece, whole
    assert [p.first_line for p in pieces] == [1, 2, 6, 10, 14, 18]


def test_a_text_without_quotes_is_cut_at_the_last_line_end_before_the_size():
    text = "".join(f"line {i}\n" for i in range(100))  # 7 or 8 characters a line
    pieces = pieces_of(text.encode(), 50, 1 << 20)
    assert all(44 <= len(p.text) <= 50 for p in pieces[:-2]) and len(pieces) >= 15
    assert_well_cut(text, pieces)


def test_a_record_longer_than_a_piece_is_one_piece():
    long_record = 'c1,"' + "x\n" * 1000 + '"\n'
    text = "h\n" + long_record + "c2,y\n"
    pieces = pieces_of(text.encode(), 10, 7)
    assert any(long_record in p.text for p in pieces)  # never cut inside it
    assert_well_cut(text, pieces)


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5])
def test_a_crlf_is_never_split_whatever_the_chunks(chunk_bytes):
    text = "a\r\nb\r\n\r\nc\rd\r\n"
    pieces = [p for p in pieces_of(text.encode(), 1, chunk_bytes) if p.text]
    assert [p.text for p in pieces] == ["a\r\n", "b\r\n", "\r\n", "c\r", "d\r\n"]
    assert [p.first_line for p in pieces] == [1, 2, 3, 4, 5]


def test_a_file_ending_at_a_cut_ends_with_an_empty_last_piece():
    pieces = pieces_of(b"a\nb\n", 1, 1)
    assert [(p.text, p.first_line, p.last) for p in pieces][-1] == ("", 3, True)


def test_an_empty_file_is_one_empty_last_piece():
    assert [(p.text, p.first_line, p.last) for p in pieces_of(b"", 10, 3)] == [("", 1, True)]


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 4, 100])
def test_decoding_in_chunks_gives_the_text_and_drops_only_a_leading_bom(chunk_bytes):
    text = "h\u20ac\U0001f600\ufeff,é\n"
    data = b"\xef\xbb\xbf" + text.encode()
    assert "".join(decoded(KEY, chunked(data, chunk_bytes))) == text


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 100])
@pytest.mark.parametrize(
    "data,line,byte,offset",
    [
        (b"ab\r\ncd\xffe", 2, 0xFF, 6),
        (b"\xef\xbb\xbfa\n\xc3(", 2, 0xC3, 5),  # a lead byte whose next byte does not follow
        (b"a\rb\r\n\xe2\x82", 3, 0xE2, 5),  # cut short by the end of the file
        (b"\xef\xbb", 1, 0xEF, 0),
    ],
)
def test_the_first_byte_that_is_not_utf8_is_named_whatever_the_chunks(
    data, line, byte, offset, chunk_bytes
):
    with pytest.raises(FileRejected) as e:
        list(decoded(KEY, chunked(data, chunk_bytes)))
    assert (
        str(e.value)
        == f"{KEY}: line {line}: not valid UTF-8 (byte 0x{byte:02x} at offset {offset})"
    )
