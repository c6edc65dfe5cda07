"""The landing contract's row rules, reason codes, dedup rule and unreadable files.

Every case runs three times: through the shipped validation (DuckDB SQL, its Parquet outputs
read back), the same with each file read in chunks of 3 bytes and validated in pieces of a
few characters (every record a piece of its own, every multi-byte character and `\r\n` cut
between chunks somewhere), and through the oracle it replaced (`oracle_validator.py`); all
must give exactly the outcome the case names.
"""

import functools
import tempfile
from pathlib import Path

import duckdb
import oracle_validator
import pytest
from helpers import dataset, sql_validation

from pipeline_assets.lib import rules as v
from pipeline_assets.lib.contract import ContractError
from pipeline_assets.lib.validate import FileRejected, Validator

ORDERS = dataset("orders")

HEADER = "order_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total,updated_at\n"
KEY = "orders/date=2024-01-01/hour=05/a.csv"
PK = "2024-01-01"
IMPLEMENTATIONS = {
    "sql": sql_validation,
    "sql-in-pieces": functools.partial(sql_validation, piece_chars=5, chunk_bytes=3),
    "oracle": oracle_validator.validate_partition,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def validate(request):
    """`validate(dataset, partition_key, files)` of one implementation."""
    return IMPLEMENTATIONS[request.param]


@pytest.fixture
def run(validate):
    """Validate one orders file of hour 05 (plus `extra_files`)."""

    def run(text: str, key: str = KEY, extra_files=()):
        return validate("orders", PK, [(key, text.encode()), *extra_files])

    return run


def reasons(result) -> list[tuple[int, str]]:
    return [(q.line_number, q.reason_code) for q in result.quarantined]


def test_good_rows_accepted_and_timestamps_normalised(run):
    r = run(
        HEADER
        + "o1,c1,s01,2024-01-01T05:00:00,100,8,108,\n"
        + "o2,c1,,2024-01-01T05:59:59Z,0,0,0,2024-01-02 00:00:00+00:00\n"
    )
    assert r.rows_read == 2 and not r.quarantined
    assert [row[0] for row in r.accepted] == ["o1", "o2"]
    assert r.accepted[1][2] is None  # optional store_id empty -> null
    assert str(r.accepted[1][7]) == "2024-01-02 00:00:00"


@pytest.mark.parametrize(
    "line,reason",
    [
        ("o1,c1,s01,2024-01-01T05:10:00,-100,8,-92,", v.NEGATIVE_AMOUNT),
        ("o1,c1,s01,2024-01-01T05:10:00,12.5,8,20.5,", v.INVALID_AMOUNT),
        ("o1,c1,s01,2024-01-01T05:10:00,abc,8,108,", v.INVALID_AMOUNT),
        # ASCII digits only: int() would read these, the contract does not.
        ("o1,c1,s01,2024-01-01T05:10:00,１０００,0,1000,", v.INVALID_AMOUNT),  # full-width
        ("o1,c1,s01,2024-01-01T05:10:00,٨٠,0,80,", v.INVALID_AMOUNT),  # Arabic-Indic
        ("o1,c1,s01,2024-01-01T05:10:00,80,0,٨٠,", v.INVALID_AMOUNT),
        ("o1,c1,s01,2024-01-01T05:10:00,80,０,80,", v.INVALID_AMOUNT),
        ("o1,c1,s01,2024-01-01T05:10:00,1_000,0,1000,", v.INVALID_AMOUNT),  # int() reads "1_000"
        ("o1,c1,s01,2024-01-01T05:10:00,1e3,0,1000,", v.INVALID_AMOUNT),
        ("o1,c1,s01,2024-01-01T05:10:00,100,8,109,", "total_mismatch"),
        ("o1,c1,s01,2024-01-01T05:10:00,999999999999999,0,999999999999999,", v.AMOUNT_OUT_OF_RANGE),
        ("o1,c1,s01,yesterday,100,8,108,", v.INVALID_TIMESTAMP),
        ("o1,c1,s01,2024-01-01,100,8,108,", v.INVALID_TIMESTAMP),
        ("o1,c1,s01,2024-01-01T05:10:00+02:00,100,8,108,", v.NON_UTC_TIMEZONE),
        ("o1,c1,s01,2024-01-01T06:00:00,100,8,108,", v.OUTSIDE_HOUR),
        ("o1,c1,s01,2024-01-01T04:59:59Z,100,8,108,", v.OUTSIDE_HOUR),
        # Inside the day but not the file's hour folder: the hour rule holds per file.
        ("o1,c1,s01,2024-01-01T12:00:00,100,8,108,", v.OUTSIDE_HOUR),
        ("o1,c1,s01,2024-01-02T05:10:00,100,8,108,", v.OUTSIDE_HOUR),
        (",c1,s01,2024-01-01T05:10:00,100,8,108,", v.MISSING_VALUE),
        ("o1,,s01,2024-01-01T05:10:00,100,8,108,", v.MISSING_VALUE),
        ("o1,c1,s01,2024-01-01T05:10:00,100,8,108", v.MALFORMED_ROW),
        ("o1,c1,s01,2024-01-01T05:10:00,100,8,108,,extra", v.MALFORMED_ROW),
        ("o1,c1,s01,2024-01-01T05:10:00,100,8,108,not-a-time", v.INVALID_TIMESTAMP),
        ("o1,c\x001,s01,2024-01-01T05:10:00,100,8,108,", v.NUL_CHARACTER),
        ("o1," + "c" * 5000 + ",s01,2024-01-01T05:10:00,100,8,108,", v.VALUE_TOO_LONG),
        # The contract's one timestamp grammar: spellings datetime.fromisoformat also reads
        # (and the old validator accepted) are not in it.
        ("o1,c1,s01,2024-01-01T05:10:00+0000,100,8,108,", v.INVALID_TIMESTAMP),
        ("o1,c1,s01,2024-01-01T051000,100,8,108,", v.INVALID_TIMESTAMP),
        ("o1,c1,s01,2024-01-01t05:10:00,100,8,108,", v.INVALID_TIMESTAMP),
        ("o1,c1,s01,2024-01-01T05:10:00z,100,8,108,", v.INVALID_TIMESTAMP),
        ("o1,c1,s01,2024-01-01T05:10:00.1234567,100,8,108,", v.INVALID_TIMESTAMP),
        ("o1,c1,s01,2024-01-01T05:10:00+01,100,8,108,", v.INVALID_TIMESTAMP),
        # ... and impossible moments are invalid, whatever the offset
        ("o1,c1,s01,2024-01-01T24:00:00,100,8,108,", v.INVALID_TIMESTAMP),
        ("o1,c1,s01,2024-02-30T05:10:00,100,8,108,", v.INVALID_TIMESTAMP),
        ("o1,c1,s01,0000-01-01T05:10:00,100,8,108,", v.INVALID_TIMESTAMP),
        ("o1,c1,s01,2024-01-01T05:10:00+24:00,100,8,108,", v.INVALID_TIMESTAMP),
        ("o1,c1,s01,2024-02-30T05:10:00+02:00,100,8,108,", v.INVALID_TIMESTAMP),
        ("o1,c1,s01,2024-01-01T05:10:00-05:30,100,8,108,", v.NON_UTC_TIMEZONE),
        # the first broken rule in contract order wins
        (",c1,s01,not-a-time,-1,8,7,", v.MISSING_VALUE),
        ("o1,c1,s01,not-a-time,-1,8,7,", v.INVALID_TIMESTAMP),
        ("o1,c1,s01,2024-01-01T06:00:00,-1,8,7,", v.NEGATIVE_AMOUNT),
        ("o1,c1,s01,2024-01-01T06:00:00,1,8,7,", v.OUTSIDE_HOUR),
        ("o1,c1,s01,2024-01-01T05:10:00,1,8,7,2024-01-01T05:10:00+01:00", v.NON_UTC_TIMEZONE),
        ("o1,c1,s01," + "2" * 1025 + ",1,8,7,", v.VALUE_TOO_LONG),
    ],
)
def test_bad_rows_quarantined_with_reason(line, reason, run):
    r = run(HEADER + line + "\n" + "ok1,c1,s01,2024-01-01T05:00:00,1,0,1,\n")
    assert reasons(r) == [(2, reason)]
    assert r.quarantined[0].raw_line == line[: v.MAX_RAW_LINE_CHARS]
    assert r.quarantined[0].source_key == KEY
    assert r.rows_read == len(r.accepted) + len(r.quarantined) == 2


def test_columns_matched_by_name_any_order_extras_reported(run):
    text = "extra,order_total,tax_paid,subtotal,ordered_at,customer_id,order_id\n"
    text += "x,108,8,100,2024-01-01T05:00:00,c1,o1\n"
    r = run(text)
    assert r.accepted[0][:7] == ("o1", "c1", None, r.accepted[0][3], 100, 8, 108)
    assert r.files[0].extra_columns == ["extra"]


def test_bom_crlf_and_quoted_newlines(run):
    text = "\ufefforder_id,customer_id,store_id,ordered_at,subtotal,tax_paid,order_total\r\n"
    text += 'o1,"c\r\n1",s01,2024-01-01T05:00:00,1,0,1\r\n'
    text += "o2,c2,s01,2024-01-01T05:00:00,1,0,2\r\n"
    r = run(text)
    assert [a[:2] for a in r.accepted] == [("o1", "c\r\n1")]
    # the second record starts on physical line 4 because of the quoted newline
    assert reasons(r) == [(4, "total_mismatch")]
    assert r.quarantined[0].raw_line == "o2,c2,s01,2024-01-01T05:00:00,1,0,2"


def test_dedup_greatest_updated_at_then_last_file_then_last_line(validate):
    a = HEADER + (
        "o1,c1,s01,2024-01-01T05:00:00,100,0,100,2024-01-01T07:00:00\n"
        "o2,c1,s01,2024-01-01T05:00:00,200,0,200,\n"
        "o2,c2,s01,2024-01-01T05:00:00,201,0,201,\n"
    )
    b = HEADER + (
        "o1,c9,s01,2024-01-01T05:00:00,101,0,101,2024-01-01T06:00:00\n"  # older: loses
        "o2,c3,s01,2024-01-01T05:00:00,202,0,202,\n"  # no updated_at: last file wins
    )
    r = validate(
        "orders", PK, [("orders/date=2024-01-01/hour=05/b.csv", b.encode()), (KEY, a.encode())]
    )
    winners = {row[0]: (row[1], row[-2].rsplit("/", 1)[1], row[-1]) for row in r.accepted}
    assert winners == {"o1": ("c1", "a.csv", 2), "o2": ("c3", "b.csv", 3)}
    assert sorted(q.reason_code for q in r.quarantined) == [v.SUPERSEDED] * 3
    assert r.rows_read == 5 == len(r.accepted) + len(r.quarantined)


def test_header_only_and_blank_lines_are_empty(run):
    r = run(HEADER + "\n\n")
    assert r.rows_read == 0 and not r.accepted


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "line 1: empty file"),
        (
            HEADER.encode() + "o1,Jos\xe9,s,2024-01-01T05:00:00,1,0,1,\n".encode("latin-1"),
            "line 2: not valid UTF-8",
        ),
        (b"order_id,customer_id\no1,c1\n", "required column(s) ['ordered_at'"),
        (HEADER.replace(",", ";").encode() + b"o1;c1\n", "another delimiter"),
        (
            b"order_id,order_id,customer_id,ordered_at,subtotal,tax_paid,order_total\n",
            "duplicate header",
        ),
        (HEADER.encode() + b'o1,"c1,s01\n', "unreadable CSV"),
    ],
)
def test_unreadable_files_fail_naming_file_and_line(data, message, validate):
    with pytest.raises(FileRejected) as e:
        validate("orders", PK, [(KEY, data)])
    assert KEY in str(e.value) and message in str(e.value)


def test_customers_rules(validate):
    r = validate(
        "customers",
        "2024-01-01",
        [
            (
                "customers/date=2024-01-01/c.csv",
                b"customer_id,name\nc1,Ann\n,NoId\nc1,Ann B\n",
            )
        ],
    )
    assert [row[:2] for row in r.accepted] == [("c1", "Ann B")]
    assert reasons(r) == [(2, v.SUPERSEDED), (3, v.MISSING_VALUE)]


def test_plus_sign_and_padding_are_ascii_integers(run):
    r = run(HEADER + "o1,c1,s01,2024-01-01T05:00:00, +100 ,8,108,\n")
    assert not r.quarantined and r.accepted[0][4:7] == (100, 8, 108)


H = "orders/date=2024-01-01/hour={:02d}/{}"


def test_a_day_checks_each_file_against_its_own_hour_folder(validate):
    files = [
        (H.format(h, "a.csv"), (HEADER + f"o{h},c1,s01,2024-01-01T{h:02d}:30:00,1,0,1,\n").encode())
        for h in range(24)
    ]
    # 07:30 is inside the day but in the 08 folder: quarantined, naming that file and line.
    files.append(
        (H.format(8, "b.csv"), (HEADER + "x,c1,s01,2024-01-01T07:30:00,1,0,1,\n").encode())
    )
    r = validate("orders", PK, files)
    assert sorted(row[0] for row in r.accepted) == sorted(f"o{h}" for h in range(24))
    assert [(q.source_key, q.line_number, q.reason_code) for q in r.quarantined] == [
        (H.format(8, "b.csv"), 2, v.OUTSIDE_HOUR)
    ]
    assert r.rows_read == 25 and len(r.files) == 25
    assert {row[-2] for row in r.accepted} == {H.format(h, "a.csv") for h in range(24)}


def test_dedup_spans_the_whole_day_and_a_later_hour_wins_a_tie(validate):
    early = HEADER + "o1,c-early,s01,2024-01-01T03:00:00,1,0,1,\n"
    late = HEADER + "o1,c-late,s01,2024-01-01T14:00:00,1,0,1,\n"
    # Given in reverse order: lexical key order decides, so hour=14 is the later file.
    r = validate(
        "orders",
        PK,
        [(H.format(14, "a.csv"), late.encode()), (H.format(3, "z.csv"), early.encode())],
    )
    assert [(row[0], row[1], row[-2]) for row in r.accepted] == [
        ("o1", "c-late", H.format(14, "a.csv"))
    ]
    assert [(q.source_key, q.reason_code) for q in r.quarantined] == [
        (H.format(3, "z.csv"), v.SUPERSEDED)
    ]
    assert "superseded by " + H.format(14, "a.csv") + " line 2" == r.quarantined[0].reason_detail


def test_a_greater_updated_at_beats_a_later_hour(validate):
    early = HEADER + "o1,c-early,s01,2024-01-01T03:00:00,1,0,1,2024-01-01T20:00:00\n"
    late = HEADER + "o1,c-late,s01,2024-01-01T14:00:00,1,0,1,2024-01-01T15:00:00\n"
    r = validate(
        "orders",
        PK,
        [(H.format(3, "a.csv"), early.encode()), (H.format(14, "a.csv"), late.encode())],
    )
    assert [row[1] for row in r.accepted] == ["c-early"]


@pytest.mark.parametrize(
    "key",
    [
        "a.csv",  # no folder at all
        "orders/date=2024-01-01/a.csv",  # no hour folder
        "orders/date=2024-01-01/hour=24/a.csv",  # no such hour
        "orders/date=2024-01-01/hour=05/a.txt",
        "customers/date=2024-01-01/a.csv",  # a customers key given as orders
        "orders/date=2024-01-02/hour=05/a.csv",  # another day's file
    ],
)
def test_orders_files_must_have_real_orders_keys_of_the_day(key, validate):
    with pytest.raises(ContractError) as e:
        validate("orders", PK, [(KEY, HEADER.encode()), (key, HEADER.encode())])
    assert key in str(e.value)


@pytest.mark.parametrize(
    "key",
    ["c.csv", "customers/date=2024-01-02/c.csv", "orders/date=2024-01-01/hour=05/c.csv"],
)
def test_customers_files_must_be_customers_keys_of_the_day(key, validate):
    with pytest.raises(ContractError) as e:
        validate("customers", PK, [(key, b"customer_id,name\nc1,Ann\n")])
    assert key in str(e.value)


@pytest.mark.parametrize("pk", ["2024-01-01-05:00", "2024-01-01\n", "２０２４-０１-０１", ""])
def test_partition_key_must_be_a_day(pk, validate):
    with pytest.raises(ContractError, match="invalid daily partition key"):
        validate("orders", pk, [(KEY, HEADER.encode())])


def test_an_empty_day_is_valid(validate):
    r = validate("orders", PK, [])
    assert (r.rows_read, r.accepted, r.quarantined, r.files) == (0, [], [], [])


@pytest.mark.parametrize(
    "line,detail",
    [
        ("o1,c1,s01,2024-01-01T05:10:00,-0100,8,-92,", "subtotal=-100 is negative"),
        (
            "o1,c1,s01,2024-01-01T05:10:00,１０００,0,1000,",
            "subtotal='１０００' is not integer cents",
        ),
        ("o1,c1,s01,2024-01-01T05:10:00,it's,0,1000,", """subtotal="it's" is not integer cents"""),
        (
            "o1,c1,s01,2024-01-01T05:10:00,+000" + "9" * 15 + ",0,1,",
            "subtotal=" + "9" * 15 + " exceeds 100000000000",
        ),
        (
            "o1,c1,s01,2024-01-01T05:10:00+02:00,1,0,1,",
            "'2024-01-01T05:10:00+02:00' has offset +02:00, want UTC",
        ),
        ("o1,c1,s01,2024-01-01 5:10,1,0,1,", "'2024-01-01 5:10' is not an ISO-8601 timestamp"),
        (
            "o1,c1,s01,2024-01-01T06:00:00.5,1,0,1,",
            "ordered_at 2024-01-01 06:00:00.500000 is outside the folder's hour [2024-01-01 05:00:00, 2024-01-01 06:00:00)",
        ),
        ("o1,c1,s01,2024-01-01T05:10:00,1,0,2,", "order_total 2 != subtotal + tax_paid 1"),
        ("o1," + "é" * 1025 + ",s01,2024-01-01T05:10:00,1,0,1,", "customer_id has 1025 characters"),
        ("o1,c1,s01,2024-01-01T05:10:00,1,0,1", "7 fields, header has 8"),
        ("o1,c1,s01,2024-01-01T05:10:00,1,0,1,,", "9 fields, header has 8"),
    ],
)
def test_details_say_what_is_wrong(line, detail, run):
    r = run(HEADER + line + "\n")
    assert [q.reason_detail for q in r.quarantined] == [detail]


def test_line_numbers_are_physical_lines_whatever_ends_them(run):
    """A record's line number is its first physical line: blank lines, quoted line ends and
    any line end (\\n, \\r\\n or a lone \\r) count."""
    text = (
        HEADER.rstrip("\n")
        + "\r\n"
        + "\n"  # line 2: blank
        + 'o1,"c\n\n1",s01,2024-01-01T05:00:00,1,0,1,\r'  # lines 3-5, ended by a lone CR
        + "o2,c2,s01,2024-01-01T05:00:00,1,0,2,\r\n"  # line 6
        + '"o3","c\r3",s01,2024-01-01T05:00:00,1,0,1,\n'  # lines 7-8
        + "o4,c4,s01,2024-01-01T05:00:00,1,0,9,"  # line 9, no line end
    )
    r = run(text)
    assert [(row[0], row[-1]) for row in r.accepted] == [("o1", 3), ("o3", 7)]
    assert r.accepted[0][1] == "c\n\n1" and r.accepted[1][1] == "c\r3"
    assert reasons(r) == [(6, "total_mismatch"), (9, "total_mismatch")]
    assert [q.raw_line for q in r.quarantined] == [
        "o2,c2,s01,2024-01-01T05:00:00,1,0,2,",
        "o4,c4,s01,2024-01-01T05:00:00,1,0,9,",
    ]


def test_a_quarantined_record_keeps_its_quoted_line_ends_in_its_raw_line(run):
    record = 'o1,"c\r\n1",s01,2024-01-01T05:00:00,1,0,2,'
    r = run(HEADER + record + "\r\n")
    assert [(q.line_number, q.raw_line) for q in r.quarantined] == [(2, record)]


def test_quotes_inside_unquoted_fields_and_padding_are_data(run):
    """As Python's csv reads them: a quote that does not open a field is data, and so is a
    space before an opening quote (the value is then stripped of its spaces, not quotes)."""
    r = run(HEADER + 'o"1,c1, "s01",2024-01-01T05:00:00,1,0,1,\n')
    assert [row[:3] for row in r.accepted] == [('o"1', "c1", '"s01"')]


@pytest.mark.parametrize(
    "body,line,problem",
    [
        ('o1,"c1"x,s01,2024-01-01T05:00:00,1,0,1,\n', 2, "',' expected after '\"'"),
        ('o1,"c1" ,s01,2024-01-01T05:00:00,1,0,1,\n', 2, "',' expected after '\"'"),
        ('o1,"c\n1"x,s01,2024-01-01T05:00:00,1,0,1,\n', 3, "',' expected after '\"'"),
        ('o1,c1,s01,2024-01-01T05:00:00,1,0,1,\no2,"c2\n\n', 4, "unexpected end of data"),
        ('o1,c1,s01,2024-01-01T05:00:00,1,0,1,\no2,"c2', 3, "unexpected end of data"),
    ],
)
def test_unreadable_csv_names_the_line_and_the_problem(body, line, problem, validate):
    with pytest.raises(FileRejected) as e:
        validate("orders", PK, [(KEY, (HEADER + body).encode())])
    assert str(e.value) == f"{KEY}: line {line}: unreadable CSV ({problem})"


@pytest.mark.parametrize(
    "data,line,byte,offset",
    [
        # the offset counts the byte-order mark: it is the byte's place in the file
        (b"\xef\xbb\xbf" + HEADER.encode() + b"o1,c\xff1\n", 2, 0xFF, 3 + len(HEADER) + 4),
        # every line end counts, a lone \r too
        (HEADER.encode() + b"o1\r\ro\x80\n", 4, 0x80, len(HEADER) + 5),
        # a character cut short by the end of the file: its first byte
        (HEADER.encode() + "o1,\u20ac".encode()[:-1], 2, 0xE2, len(HEADER) + 3),
        (b"\xef\xbb", 1, 0xEF, 0),  # the start of a byte-order mark, and nothing more
    ],
)
def test_a_byte_that_is_not_utf8_is_named_with_its_line_and_offset(
    data, line, byte, offset, validate
):
    with pytest.raises(FileRejected) as e:
        validate("orders", PK, [(KEY, data)])
    assert (
        str(e.value)
        == f"{KEY}: line {line}: not valid UTF-8 (byte 0x{byte:02x} at offset {offset})"
    )


def test_characters_of_several_bytes_read_whole_wherever_the_chunks_cut_them(run):
    r = run("\ufeff" + HEADER + "o1,\u20acur\u00f6-\U0001f600,s01,2024-01-01T05:00:00,1,0,1,\n")
    assert [row[1] for row in r.accepted] == ["\u20acur\u00f6-\U0001f600"]


def test_a_bad_byte_anywhere_in_a_file_comes_before_its_other_problems(validate):
    """The oracle decodes a file whole before it reads it; a streamed read gets there too."""
    unreadable = HEADER + 'o1,"c1"x,s01,2024-01-01T05:00:00,1,0,1,\n' + "o2,c2\n" * 3
    for text in (unreadable, "order_id\n" + "x\n" * 4):  # a header without its columns
        with pytest.raises(FileRejected, match=r"line 6: not valid UTF-8 \(byte 0xff"):
            validate("orders", PK, [(KEY, text.encode() + b"\xff\n")])


def test_the_first_unreadable_file_in_key_order_is_the_one_named(validate):
    first = HEADER + "o1,c1,s01,2024-01-01T05:00:00,1,0,1,\n" * 3 + 'o2,"c2"x\n'
    later = "order_id,customer_id\no3,c3\n"
    with pytest.raises(FileRejected) as e:
        validate("orders", PK, [(H.format(6, "b.csv"), later.encode()), (KEY, first.encode())])
    assert str(e.value) == f"{KEY}: line 5: unreadable CSV (',' expected after '\"')"


def test_a_row_with_an_updated_at_beats_one_without_even_at_the_first_moment(validate):
    early = HEADER + "o1,c-dated,s01,2024-01-01T05:00:00,1,0,1,0001-01-01T00:00:00\n"
    late = HEADER + "o1,c-undated,s01,2024-01-01T05:00:00,1,0,1,\n"
    r = validate("orders", PK, [(KEY, early.encode()), (H.format(5, "b.csv"), late.encode())])
    assert [row[1] for row in r.accepted] == ["c-dated"]


def test_one_validator_validates_day_after_day():
    """A run's days share one session: nothing of one day shows in the next."""
    quoted = HEADER + 'o1,"c,1",s01,2024-01-01T05:00:00,1,0,1,\n'
    plain = HEADER + "o2,c2,s01,2024-01-02T05:00:00,1,0,1,\n"
    with tempfile.TemporaryDirectory() as workdir, Validator() as validator:
        first = validator.validate(ORDERS, PK, [(KEY, quoted.encode())], Path(workdir) / "1")
        second = validator.validate(
            ORDERS,
            "2024-01-02",
            [("orders/date=2024-01-02/hour=05/a.csv", plain.encode())],
            Path(workdir) / "2",
        )
        with pytest.raises(FileRejected):
            validator.validate(ORDERS, PK, [(KEY, b"")], Path(workdir) / "3")
        third = validator.validate(ORDERS, PK, [(KEY, quoted.encode())], Path(workdir) / "4")
        days = [
            duckdb.execute(
                "select order_id, _partition from read_parquet(?)", [str(p.accepted)]
            ).fetchall()
            for p in (first, second, third)
        ]
    assert days == [[("o1", PK)], [("o2", "2024-01-02")], [("o1", PK)]]
    assert (first.summary.rows_read, second.summary.rows_read) == (1, 1)
