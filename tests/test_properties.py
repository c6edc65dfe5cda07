"""Property-based tests of row validation: random valid and invalid order rows as CSV text.

For every generated partition, the shipped validation (DuckDB SQL, `lib/validate.py`) gives
rows read = accepted + quarantined, and accepts exactly what a small independent oracle of
the README's contract accepts (after the duplicate rule). This oracle is written from the
README, not from either implementation; `test_sql_matches_oracle.py` compares the SQL with
the full Python oracle it replaced.

The examples are derandomized (a fixed seed derived from each test): every run, in CI and
locally, tests the same examples, so a red build is never a new random draw. Set
HYPOTHESIS_EXPLORE=1 to search fresh random examples (and keep failures in .hypothesis/).
"""

import csv
import io
import os
import re
from datetime import datetime, timedelta

from helpers import dataset
from helpers import sql_validation as validate_partition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_assets.lib.rules import INVALID_AMOUNT, SUPERSEDED

PK = "2024-01-01"
HOUR = datetime(2024, 1, 1, 10)
FOLDER = "orders/date=2024-01-01/hour=10/"
COLUMNS = dataset("orders").column_names
REQUIRED = set(dataset("orders").required_columns)
MAX_CENTS = 10**11
MAX_CHARS = 1024

EXPLORE = bool(os.environ.get("HYPOTHESIS_EXPLORE"))
FIXED_SEED = settings(
    derandomize=not EXPLORE,
    database=settings.default.database if EXPLORE else None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# ---- the oracle: the README's contract, independently ----------------------------------

# Digits are ASCII 0-9 only: `\d` would also match "２" or "٢", which are not ISO-8601.
_TS = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)


def oracle_timestamp(text: str) -> datetime | None:
    """ISO-8601 date and time; naive means UTC, Z/+00:00 accepted, other offsets not."""
    m = _TS.fullmatch(text)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, offset = m.groups()
    if offset not in (None, "Z", "+00:00", "-00:00"):
        return None
    try:
        return datetime(
            int(y), int(mo), int(d), int(h), int(mi), int(s or 0), int((frac or "0").ljust(6, "0"))
        )
    except ValueError:
        return None


def oracle_cents(text: str) -> int | None:
    """Integer cents: an optional sign and ASCII digits 0-9 only ("１０００" and "٨٠" are not
    integers of the contract, although Python's int() reads them), 0 <= value <= 10**11."""
    if not re.fullmatch(r"[+-]?[0-9]+", text, flags=re.ASCII):
        return None
    value = int(text)
    return value if 0 <= value <= MAX_CENTS else None


def oracle_row(values: dict[str, str]) -> tuple | None:
    """The loaded row (warehouse column order) if the contract accepts it, else None."""
    v = {k: x.strip() for k, x in values.items()}
    if any(len(x) > MAX_CHARS or "\x00" in x for x in v.values()):
        return None
    if any(v[c] == "" for c in REQUIRED):
        return None
    ordered_at = oracle_timestamp(v["ordered_at"])
    if ordered_at is None or not HOUR <= ordered_at < HOUR + timedelta(hours=1):
        return None
    updated_at = None
    if v["updated_at"]:
        updated_at = oracle_timestamp(v["updated_at"])
        if updated_at is None:
            return None
    amounts = [oracle_cents(v[c]) for c in ("subtotal", "tax_paid", "order_total")]
    if None in amounts or amounts[2] != amounts[0] + amounts[1]:
        return None
    store = v["store_id"] or None
    return (v["order_id"], v["customer_id"], store, ordered_at, *amounts, updated_at)


def oracle_winners(rows: list[tuple[tuple, int, int]]) -> list[tuple]:
    """Per order id: greatest updated_at (with beats without), then the last file, last line."""
    best: dict[str, tuple] = {}
    for row, file_no, line in rows:
        rank = (row[7] is not None, row[7] or datetime.min, file_no, line)
        if row[0] not in best or rank > best[row[0]][0]:
            best[row[0]] = (rank, row)
    return sorted(r for _, r in best.values())


# ---- generators ---------------------------------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
hostile_text = st.sampled_from(
    [
        "",
        "   ",
        "'; drop table raw.orders; --",
        "a\x00b",
        "x" * (MAX_CHARS + 1),
        '"quoted, with comma"',
        "line\nbreak",
        "cr\rreturn",
        "  padded  ",
    ]
)


@st.composite
def timestamps(draw, inside_hour: bool, utc: bool = True) -> str:
    if inside_hour:
        moment = HOUR + timedelta(microseconds=draw(st.integers(0, 3600 * 10**6 - 1)))
    else:
        moment = draw(st.datetimes(datetime(2023, 12, 31), datetime(2024, 1, 3)))
    shape = draw(
        st.sampled_from(
            ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S.%f"]
        )
    )
    if shape.endswith("%H:%M"):
        moment = moment.replace(second=0, microsecond=0)
    suffix = draw(st.sampled_from(["", "Z", "+00:00"] if utc else ["+01:00", "-05:30"]))
    return moment.strftime(shape) + suffix


good_timestamps = st.one_of(
    timestamps(inside_hour=True),
    st.sampled_from(["2024-01-01T10:00:00", "2024-01-01 10:59:59.999999Z"]),  # the edges
)
bad_timestamps = st.one_of(
    timestamps(inside_hour=False),  # mostly outside the hour
    st.sampled_from(["2024-01-01T11:00:00", "2024-01-01T09:59:59.999999"]),  # just outside
    timestamps(inside_hour=True, utc=False),
    st.sampled_from(["", "not a time", "2024-01-01", "2024-13-01T10:00:00", "10:15"]),
    # Inside the hour but with non-ASCII digits: not ISO-8601.
    st.sampled_from(
        ["２０２４-01-01T10:15:00", "2024-01-01T1٠:15:00", "2024-01-01T10:15:00+0٠:00"]
    ),
)
good_cents = st.one_of(
    st.integers(0, 10**6).map(str),
    st.integers(0, MAX_CENTS // 2).map(str),
    st.integers(0, 999).map(lambda n: f"+{n}"),  # an explicit sign
    st.integers(0, 999).map(lambda n: f"{n:05d}"),  # leading zeros
)
# Digits that are not ASCII: Python's int() reads every one of these, the contract none.
NON_ASCII_DIGITS = ["０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९"]
non_ascii_cents = st.builds(
    lambda n, digits, keep: "".join(
        c if i in keep else digits[int(c)] for i, c in enumerate(str(n))
    ),
    st.integers(0, 10**6),
    st.sampled_from(NON_ASCII_DIGITS),
    st.sets(st.integers(0, 6), max_size=5),  # some digits may stay ASCII, never all of them
).filter(lambda x: not x.isascii())
bad_cents = st.one_of(
    st.sampled_from(["-1", str(MAX_CENTS + 1), "1.5", "abc", "", "1e3", "1_000", "１０００", "٨٠"]),
    non_ascii_cents,
)


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def maybe_bad(draw, good: st.SearchStrategy[str], bad: st.SearchStrategy[str]) -> str:
    """A value that is usually valid: about one field in eight is spoiled."""
    return draw(bad if draw(st.integers(0, 7)) == 0 else good)


@st.composite
def order_rows(draw, index: int) -> list[str]:
    """One data row's fields in COLUMNS order: about a third of them entirely valid."""
    order_id = maybe_bad(draw, st.sampled_from(["dup-a", "dup-b", f"o{index}"]), hostile_text)
    subtotal = maybe_bad(draw, good_cents, bad_cents)
    tax = maybe_bad(draw, good_cents, bad_cents)
    numbers = [_int_or_none(x) for x in (subtotal, tax)]
    # The total int() would agree with (negatives and non-ASCII digits add up too): such a
    # row is refused for its amounts' own rule, not as a mismatch.
    total = "0" if None in numbers else str(sum(numbers))
    return [
        order_id,
        maybe_bad(draw, st.one_of(st.just("c1"), text), hostile_text),
        maybe_bad(draw, st.one_of(st.just(""), st.just("s01"), text), hostile_text),
        maybe_bad(draw, good_timestamps, bad_timestamps),
        subtotal,
        tax,
        maybe_bad(draw, st.just(total), st.one_of(bad_cents, good_cents)),
        maybe_bad(draw, st.one_of(st.just(""), timestamps(inside_hour=False)), bad_timestamps),
    ]


terminators = st.sampled_from(["\n", "\r\n"])


@st.composite
def partitions(draw) -> list[tuple[str, list[str], list[list[str]], str]]:
    """1-2 files: (key, header, rows, line end); columns in any order, maybe an extra one."""
    files = []
    for file_no in range(draw(st.integers(1, 2))):
        header = draw(st.permutations(COLUMNS))
        extra = draw(st.booleans())
        rows = []
        for i in range(draw(st.integers(0, 12))):
            fields = dict(zip(COLUMNS, draw(order_rows(file_no * 100 + i)), strict=True))
            row = [fields[c] for c in header] + (["ignored"] if extra else [])
            if draw(st.integers(0, 9)) == 0:  # a malformed row: a field missing or extra
                row = row[:-1] if draw(st.booleans()) else [*row, "surplus"]
            rows.append(row)
        key = f"{FOLDER}part-{file_no}.csv"
        files.append((key, header + (["note"] if extra else []), rows, draw(terminators)))
    return files


def to_csv(header: list[str], rows: list[list[str]], terminator: str = "\n") -> bytes:
    """Well-formed CSV. With "\n" line ends every field is quoted: csv's minimal quoting would
    leave a bare "\r" unquoted, which is a line break, not data (RFC 4180)."""
    quoting = csv.QUOTE_MINIMAL if terminator == "\r\n" else csv.QUOTE_ALL
    out = io.StringIO()
    csv.writer(out, lineterminator=terminator, quoting=quoting).writerows([header, *rows])
    return out.getvalue().encode()


# ---- the properties -----------------------------------------------------------------------


@settings(FIXED_SEED, max_examples=100)
@given(partitions())
def test_accounting_holds_and_accepted_rows_are_exactly_the_valid_ones(files):
    landed = [(key, to_csv(header, rows, end)) for key, header, rows, end in files]
    result = validate_partition("orders", PK, landed)

    n_rows = sum(len(f[2]) for f in files)
    assert result.rows_read == n_rows
    assert len(result.accepted) + len(result.quarantined) == n_rows  # nothing lost

    valid, invalid = [], 0
    for file_no, (_, header, rows, _) in enumerate(files):
        for line, row in enumerate(rows):
            loaded = None
            if len(row) == len(header):
                loaded = oracle_row(dict(zip(header, row, strict=True)))
            if loaded is None:
                invalid += 1
            else:
                valid.append((loaded, file_no, line))
    winners = oracle_winners(valid)
    assert sorted(r[:8] for r in result.accepted) == winners
    reasons = [q.reason_code for q in result.quarantined]
    assert reasons.count(SUPERSEDED) == len(valid) - len(winners)
    assert len(reasons) - reasons.count(SUPERSEDED) == invalid


@settings(FIXED_SEED, max_examples=50)
@given(st.lists(order_rows(0), min_size=1, max_size=8), terminators)
def test_without_duplicates_each_row_is_judged_alone(rows, terminator):
    """One order id per row: each row is loaded exactly when the oracle accepts it."""
    rows = [[f"id{i}", *row[1:]] for i, row in enumerate(rows)]
    landed = [(FOLDER + "a.csv", to_csv(COLUMNS, rows, terminator))]
    result = validate_partition("orders", PK, landed)
    expected = [oracle_row(dict(zip(COLUMNS, row, strict=True))) for row in rows]
    assert sorted(r[:8] for r in result.accepted) == sorted(r for r in expected if r)
    assert len(result.quarantined) == sum(r is None for r in expected)


def test_the_oracle_agrees_with_the_readme_on_examples():
    """The oracle itself can be wrong; pin it to the contract's own examples."""
    fields = ["o1", "c1", "", "2024-01-01T10:15:00Z", "100", "8", "108", ""]
    row = dict(zip(COLUMNS, fields, strict=True))
    assert oracle_row(row) == ("o1", "c1", None, datetime(2024, 1, 1, 10, 15), 100, 8, 108, None)
    assert oracle_row({**row, "ordered_at": "2024-01-01T10:15:00+01:00"}) is None
    assert oracle_row({**row, "ordered_at": "2024-01-01T11:00:00"}) is None  # end is exclusive
    assert oracle_row({**row, "order_total": "109"}) is None
    assert oracle_row({**row, "subtotal": "-1", "order_total": "7"}) is None
    assert oracle_row({**row, "store_id": "x" * 1025}) is None
    assert oracle_row({**row, "customer_id": " "}) is None
    assert oracle_timestamp("2024-01-01 10:15") == datetime(2024, 1, 1, 10, 15)
    # Amounts and times are ASCII digits only.
    assert oracle_row({**row, "subtotal": "+100"}) == oracle_row(row)
    assert oracle_row({**row, "subtotal": "１００"}) is None  # full-width
    assert oracle_row({**row, "subtotal": "٨٠", "order_total": "88"}) is None  # Arabic-Indic
    assert oracle_row({**row, "order_total": "１٠٨"}) is None
    assert oracle_row({**row, "subtotal": "1_00"}) is None
    assert oracle_timestamp("２０２４-01-01T10:15:00") is None
    assert oracle_timestamp("2024-01-01T1٠:15") is None


@settings(FIXED_SEED, max_examples=60)
@given(non_ascii_cents, st.sampled_from(["subtotal", "tax_paid", "order_total"]))
def test_non_ascii_digits_are_invalid_amounts(amount, column):
    """Every amount with a non-ASCII digit is `invalid_amount`, even when int() reads it and
    the total adds up; the oracle agrees."""
    values = {"subtotal": 100, "tax_paid": 8}
    if column != "order_total":
        values[column] = int(amount)
    cells = {c: str(v) for c, v in values.items()}
    cells["order_total"] = str(values["subtotal"] + values["tax_paid"])
    cells[column] = amount  # the same number, in other digits
    fields = ["o1", "c1", "s01", "2024-01-01T10:15:00", *cells.values(), ""]
    assert list(cells) == COLUMNS[4:7]
    assert oracle_row(dict(zip(COLUMNS, fields, strict=True))) is None
    result = validate_partition("orders", PK, [(FOLDER + "a.csv", to_csv(COLUMNS, [fields]))])
    assert result.accepted == []
    assert [(q.line_number, q.reason_code) for q in result.quarantined] == [(2, INVALID_AMOUNT)]
    assert f"{column}=" in result.quarantined[0].reason_detail


def test_examples_are_derandomized_unless_exploring():
    assert FIXED_SEED.derandomize is not EXPLORE
    if not EXPLORE:
        assert FIXED_SEED.database is None  # nothing replayed from a local .hypothesis/
