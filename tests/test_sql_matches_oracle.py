"""Property: the shipped validation (DuckDB SQL, `lib/validate.py`) and the oracle it replaced
(`oracle_validator.py`, row by row in Python) agree on every day of files.

Hypothesis writes random days: one to three files of orders (or customers) with columns in
any order, optional columns left out, extra columns, duplicate keys within and across files,
blank lines, LF, CRLF and lone-CR line ends (mixed too), a byte-order mark, fields quoted or
not, quoted commas, quotes and line ends, quotes inside unquoted fields, padding of every
kind of whitespace, bad amounts (non-ASCII digits among them), bad and non-UTC timestamps,
rows outside their hour folder, values that are too long or hold a NUL, rows with a field
too few or too many; and, in the second test, random bytes of CSV punctuation. Both
implementations must accept the same rows (values, source key, line), quarantine the same
lines (key, line, raw line, reason code), count the same per file, and fail the same files
with the same message. Reason details must match too wherever the SQL's is printable (it
does not spell out control characters as `repr` does).

The SQL validation also reads each day as a big file is read: in chunks of a drawn number of
bytes and in pieces of a drawn number of characters (down to one record a piece, every
multi-byte character and `\r\n` cut between chunks somewhere, quoted line ends on both sides
of a candidate cut), and must still give exactly the oracle's outcome.

Fixed seed (`derandomize=True`, no example database): every run tests the same examples.
"""

import functools

import oracle_validator
from helpers import dataset, sql_validation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_assets.lib.contract import ContractError
from pipeline_assets.lib.rules import MAX_CENTS, MAX_VALUE_CHARS
from pipeline_assets.lib.validate import PIECE_CHARS, FileRejected

PK = "2024-01-01"
FIXED_SEED = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
WHITESPACE = [" ", "\t", "\x0b", "\x0c", "\x1f", "\x85", "\xa0", "\u2003", "\u2028", "\u3000"]
NON_ASCII_DIGITS = ["０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९"]

# ---- values ---------------------------------------------------------------------------

ids = st.sampled_from(["o1", "o2", "o3", "dup", "c1", "c2"])  # few: duplicates happen
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
plain_text = text.filter(lambda t: not any(c in t for c in '",\r\n'))  # never quoted
odd = st.sampled_from(  # valid values that are hard to write or read as CSV
    [
        '"quoted, with comma"',
        "line\nbreak",
        "cr\rreturn",
        "crlf\r\ninside",
        'in"side',
        ' "5"',
        "'; drop table raw.orders; --",
        "back\\slash",
        "it's",
        "é" * MAX_VALUE_CHARS,  # exactly the limit
    ]
)
missing = st.sampled_from(["", "   ", "\u3000", "\t\x0b"])
# updated_at values that tie (the same moment spelled twice) and that do not
updated = st.sampled_from(
    [
        "",
        "",
        "",
        "2024-01-01T12:00:00Z",
        "2024-01-01 12:00",
        "2024-01-02T00:00:00.5",
        "0001-01-01T00:00",
    ]
)


@st.composite
def padded(draw, value: st.SearchStrategy[str]) -> str:
    """A value, sometimes with whitespace around it (Python's str.strip removes it)."""
    v = draw(value)
    if draw(st.sampled_from([False, False, False, True])):
        v = draw(st.sampled_from(WHITESPACE)) + v + draw(st.sampled_from(["", *WHITESPACE]))
    return v


@st.composite
def timestamps(draw, hour: int, inside: bool = True) -> str:
    """A timestamp of the contract's grammar, in the file's hour or (`inside=False`) not,
    in its every spelling."""
    if draw(
        st.sampled_from([False, False, False, True])
    ):  # the hour's edges: its start is in, its end is not
        edges = (
            [f"{hour:02d}:00", f"{hour:02d}:00:00.000000", f"{hour:02d}:59:59.999999"]
            if inside
            else [f"{hour + 1:02d}:00", f"{hour + 1:02d}:00:00", f"{hour - 1:02d}:59:59.999999"]
        )
        return f"2024-01-01{draw(st.sampled_from(['T', ' ']))}{draw(st.sampled_from(edges))}"
    day, hh = "2024-01-01", hour
    if not inside:
        day = draw(st.sampled_from(["2024-01-01", "2024-01-02", "2023-12-31"]))
        hh = draw(st.sampled_from([hour - 1, hour + 1, 0, 23]))
    time = f"{hh:02d}:{draw(st.integers(0, 59)):02d}"
    if draw(st.booleans()):
        time += f":{draw(st.integers(0, 59)):02d}"
        if draw(st.booleans()):
            time += "." + draw(st.text("0123456789", min_size=1, max_size=6))
    sep = draw(st.sampled_from(["T", " "]))
    return f"{day}{sep}{time}{draw(st.sampled_from(['', '', 'Z', '+00:00', '-00:00']))}"


@st.composite
def other_offsets(draw, hour: int) -> str:
    """A timestamp of the hour with an offset that is not UTC (some of them impossible)."""
    good = draw(timestamps(hour)).rstrip("Z").removesuffix("+00:00").removesuffix("-00:00")
    return good + draw(st.sampled_from(["+01:00", "-05:30", "+23:59", "+24:00", "+12:60"]))


@st.composite
def not_timestamps(draw, hour: int) -> str:
    """Near misses of the grammar, and impossible moments."""
    good = draw(timestamps(hour))
    return draw(
        st.one_of(
            st.just(good.replace("T", "t")),
            st.just(good + "0000000"),  # too many fraction digits, or none after the dot
            st.just(
                good.rstrip("Z").removesuffix("+00:00") + draw(st.sampled_from(["z", "+0000"]))
            ),
            st.sampled_from(
                [
                    "not a time",
                    "2024-01-01",
                    "2024-02-30T10:00:00",
                    "2024-01-01T24:00:00",
                    "0000-01-01T10:00:00",
                    "2024-13-01T10:00:00",
                    "2024-01-01T10:60:00",
                    "2024-01-01T10:00:60",
                    "2024-01-01T100000",
                    "2024-W01-1T10:00:00",
                    "２０２４-01-01T10:15:00",
                    "2024-01-01T1٠:15:00",
                    "2024-01-01T10:15:00+0٠:00",
                    "2024-01-01T10:15:00.",
                    "2024-01-01T10:15:00+01",
                ]
            ),
        )
    )


good_cents = st.one_of(
    st.integers(0, 10**6).map(str),
    st.integers(0, MAX_CENTS).map(str),
    st.integers(0, 999).map(lambda n: f"+{n}"),
    st.integers(0, 999).map(lambda n: f"{n:08d}"),
    st.just("-0"),
)
not_cents = st.one_of(
    st.builds(  # digits that are not ASCII: Python's int() reads them, the contract does not
        lambda n, digits, keep: "".join(
            c if i in keep else digits[int(c)] for i, c in enumerate(str(n))
        ),
        st.integers(0, 10**6),
        st.sampled_from(NON_ASCII_DIGITS),
        st.sets(st.integers(0, 6), max_size=5),
    ).filter(lambda x: not x.isascii()),
    st.sampled_from(["1.5", "1e3", "1_000", "+", "--1", "1 000", "0x10"]),
)
negative_cents = st.one_of(st.integers(1, 10**6).map(lambda n: f"-{n}"), st.just("-" + "9" * 50))
too_many_cents = st.one_of(
    st.integers(MAX_CENTS + 1, 10**15).map(str),
    st.just("9" * 50),
    st.just("+" + "0" * 40 + "1" * 13),
)


@st.composite
def order_values(draw, hour: int, plain: bool) -> dict[str, str]:
    subtotal, tax = draw(good_cents), draw(good_cents)
    some_text = plain_text if plain else st.one_of(text, odd)
    row = {
        "order_id": draw(padded(st.one_of(ids, ids, ids if plain else odd))),
        "customer_id": draw(padded(st.one_of(ids, ids, some_text.filter(str.strip)))),
        "store_id": draw(st.one_of(st.sampled_from(["", "s01"]), some_text)),
        "ordered_at": draw(padded(timestamps(hour))),
        "subtotal": subtotal,
        "tax_paid": tax,
        "order_total": str(int(subtotal) + int(tax)),
        "updated_at": draw(padded(st.one_of(updated, updated, timestamps(hour, inside=False)))),
    }
    amounts = ["subtotal", "tax_paid", "order_total"]
    times = ["ordered_at", "updated_at"]
    spoilers = [  # one per rule (and column kind), so each gets its turn
        (["order_id", "customer_id"], missing),
        (["order_id", "store_id", "ordered_at", "subtotal"], st.just("a\x00b")),
        (
            ["customer_id", "store_id", "updated_at", "tax_paid"],
            st.just("x" * (MAX_VALUE_CHARS + 1)),
        ),
        (times, not_timestamps(hour)),
        (times, other_offsets(hour)),
        (["ordered_at"], timestamps(hour, inside=False)),
        (amounts, not_cents),
        (amounts, negative_cents),
        (amounts, too_many_cents),
        (["order_total"], good_cents),  # a total that does not add up
    ]
    return spoil(draw, row, spoilers)


@st.composite
def customer_values(draw, hour: int, plain: bool) -> dict[str, str]:
    some_text = plain_text if plain else st.one_of(text, odd)
    row = {
        "customer_id": draw(padded(st.one_of(ids, ids, some_text.filter(str.strip)))),
        "name": draw(some_text),
        "updated_at": draw(padded(st.one_of(updated, timestamps(hour, inside=False)))),
    }
    spoilers = [
        (["customer_id"], missing),
        (["customer_id", "name"], st.just("a\x00b")),
        (["name", "updated_at"], st.just("x" * (MAX_VALUE_CHARS + 1))),
        (["updated_at"], not_timestamps(hour)),
        (["updated_at"], other_offsets(hour)),
    ]
    return spoil(draw, row, spoilers)


def spoil(draw, row: dict[str, str], spoilers: list) -> dict[str, str]:
    """Break none, one or two rules in the row, so that most broken rows break exactly one
    and every rule gets its turn (two broken rules test their order)."""
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 1, 1, 2]))):
        columns, values = draw(st.sampled_from(spoilers))
        row[draw(st.sampled_from(columns))] = draw(values)
    return row


# ---- CSV ------------------------------------------------------------------------------


@st.composite
def field(draw, value: str) -> str:
    """One field as a writer might put it: quoted when it must be, sometimes when not."""
    must = any(c in value for c in ",\r\n") or value.startswith('"')
    if must or draw(st.sampled_from([False, False, False, True])):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def csv_file(draw, name: str, hour: int, plain: bool) -> bytes:
    """One file; a `plain` one holds no quote at all (the validation's fast path)."""
    columns = dataset(name).column_names
    required = dataset(name).required_columns
    header = [c for c in columns if c in required or draw(st.booleans())]
    header += draw(st.lists(st.sampled_from(["note", "extra", "x y"]), max_size=2, unique=True))
    header = draw(st.permutations(header))
    values = order_values if name == "orders" else customer_values
    ends = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))

    def end() -> str:
        return draw(st.sampled_from(["\n", "\r\n", "\r"])) if ends == "mixed" else ends

    def cell(value: str) -> str:
        return value if plain else draw(field(value))

    extra = plain_text if plain else text
    out = "\ufeff" if draw(st.sampled_from([False, False, False, True])) else ""
    out += ",".join(cell(draw(padded(st.just(name)))) for name in header) + end()
    for _ in range(draw(st.integers(0, 10))):
        row = draw(values(hour, plain))
        cells = [cell(row[name] if name in row else draw(extra)) for name in header]
        width = draw(st.sampled_from(["right"] * 12 + ["short", "long"]))
        if width == "short":
            cells = cells[:-1]
        elif width == "long":
            cells = [*cells, cell(draw(extra))]
        if draw(st.sampled_from([False] * 6 + [True])):
            out += end()  # a blank line
        out += ",".join(cells) + end()
    if draw(st.booleans()):
        out = out.rstrip("\r\n")  # no line end after the last row
    return out.encode()


@st.composite
def days(draw) -> tuple[str, list[tuple[str, bytes]]]:
    which = draw(st.sampled_from(["orders", "orders", "customers"]))
    plain = draw(st.sampled_from([False, False, True]))
    files = []
    for name in draw(st.sampled_from([["a"], ["a", "b"], ["b", "a"], ["c", "a", "b"]])):
        hour = draw(st.sampled_from([10, 11]))
        key = (
            f"orders/date={PK}/hour={hour:02d}/{name}.csv"
            if which == "orders"
            else f"customers/date={PK}/{name}.csv"
        )
        if key not in dict(files):
            files.append((key, draw(csv_file(which, hour, plain))))
    return which, files


# ---- the comparison -------------------------------------------------------------------


def outcome(validate, dataset: str, files: list[tuple[str, bytes]]):
    """Everything observable of one validation: rows, quarantine, per-file counts, or the
    failure."""
    try:
        r = validate(dataset, PK, files)
    except (FileRejected, ContractError) as e:
        return {"failed": (type(e).__name__, str(e))}
    return {
        "accepted": r.accepted,  # both sort by source key and line
        "quarantined": [
            (q.source_key, q.line_number, q.raw_line, q.reason_code) for q in r.quarantined
        ],
        "files": r.files,
        "details": [q.reason_detail for q in r.quarantined],
    }


# (characters per piece, bytes per chunk): whole files, then ever smaller pieces and chunks
CUTS = [(PIECE_CHARS, None), (1, 1), (7, 2), (30, 5), (100, 3), (400, 64)]
cuts = st.sampled_from(CUTS)


def assert_same(
    dataset: str, files: list[tuple[str, bytes]], cut: tuple[int, int | None] = CUTS[0]
) -> dict:
    expected = outcome(oracle_validator.validate_partition, dataset, files)
    sql = functools.partial(sql_validation, piece_chars=cut[0], chunk_bytes=cut[1])
    got = outcome(sql, dataset, files)
    if "failed" in expected or "failed" in got:
        assert got == expected
        return got
    expected_details, got_details = expected.pop("details"), got.pop("details")
    assert got == expected
    for e, g in zip(expected_details, got_details, strict=True):
        if g.isprintable():
            assert g == e
    return got


REASONS = {
    "malformed_row",
    "missing_required_value",
    "invalid_timestamp",
    "non_utc_timezone",
    "outside_partition_hour",
    "invalid_amount",
    "negative_amount",
    "amount_out_of_range",
    "total_mismatch",
    "value_too_long",
    "nul_character",
    "superseded_duplicate",
}


def test_the_sql_and_the_oracle_agree_on_random_days():
    seen: dict[str, int] = {}

    @settings(FIXED_SEED, max_examples=200)
    @given(days(), cuts)
    def agree(day, cut):
        got = assert_same(*day, cut)
        unquoted = not any(b'"' in data for _, data in day[1])
        seen["days without a quote"] = seen.get("days without a quote", 0) + unquoted
        for _, _, _, reason in got.get("quarantined", []):
            seen[reason] = seen.get(reason, 0) + 1
        seen["accepted rows"] = seen.get("accepted rows", 0) + len(got.get("accepted", []))

    agree()
    # The examples do hold what the docstring says: every reason, and accepted rows.
    assert set(seen) >= REASONS, REASONS - set(seen)
    assert seen["accepted rows"] > 100
    assert seen["days without a quote"] > 20  # the validation's fast path


# Random text of CSV punctuation after a valid header: quotes, commas and line ends in any
# order, so many of these are quoted fields left open, text after a closing quote, quoted
# line ends, blank lines and rows of the wrong width.
punctuation = st.lists(
    st.sampled_from(
        ["c1", ",", ",", '"', '"', '""', " ", "\n", "\r\n", "\r", "x", "2024-01-01 00:00"]
    ),
    max_size=30,
).map("".join)
HEADERS = ["customer_id,name,updated_at\n", "name,customer_id\r\n", '"customer_id","na\nme"\r']


def test_the_sql_and_the_oracle_read_any_text_alike():
    seen = {"failed": 0, "read": 0}

    @settings(FIXED_SEED, max_examples=300)
    @given(st.sampled_from(HEADERS), punctuation, cuts)
    def agree(header, body, cut):
        files = [(f"customers/date={PK}/a.csv", (header + body).encode())]
        got = assert_same("customers", files, cut)
        seen["failed" if "failed" in got else "read"] += 1

    agree()
    assert seen["failed"] > 30 and seen["read"] > 30, seen
