"""The contract's row rules as values: the quarantine's reason codes, the limits, and the
patterns (RE2, for DuckDB) of its timestamp grammar and of CSV lines, which the validation
SQL (`lib/sql/validate_*.sql`) reads as session variables. The README states them in words.
"""

# Reason codes: the public vocabulary of the quarantine table (the SQL spells them too). A
# dataset's row rules add their own declared codes (orders: total_mismatch).
MALFORMED_ROW = "malformed_row"
MISSING_VALUE = "missing_required_value"
INVALID_TIMESTAMP = "invalid_timestamp"
NON_UTC_TIMEZONE = "non_utc_timezone"
OUTSIDE_HOUR = "outside_partition_hour"  # a time_column outside its file's hour folder
OUTSIDE_DAY = "outside_partition_day"  # ... outside its file's day folder
INVALID_AMOUNT = "invalid_amount"
NEGATIVE_AMOUNT = "negative_amount"
AMOUNT_OUT_OF_RANGE = "amount_out_of_range"
VALUE_TOO_LONG = "value_too_long"
NUL_CHARACTER = "nul_character"
SUPERSEDED = "superseded_duplicate"

MAX_CENTS = 10**11  # one billion currency units: anything above is a unit or parsing error
MAX_VALUE_CHARS = 1024
MAX_RAW_LINE_CHARS = 65536
# What Python's str.strip() removes (str.isspace), as an RE2 class: values are stripped.
SPACE = (
    r"[\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}"
    r"\x{205f}\x{3000}]"
)
STRIP_PATTERN = rf"^{SPACE}+|{SPACE}+$"
# The contract's ISO-8601 timestamp (README), and the same with a UTC offset only. Hours
# stop at 23 and offsets at 23:59 here; DuckDB's cast checks the calendar.
_HOUR = r"(?:[01][0-9]|2[0-3])"
_DATE_TIME = (
    rf"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ]{_HOUR}:[0-9]{{2}}(?::[0-9]{{2}}(?:\.[0-9]{{1,6}})?)?"
)
TIMESTAMP_PATTERN = rf"{_DATE_TIME}(?:Z|[+-]{_HOUR}:[0-5][0-9])?"
UTC_TIMESTAMP_PATTERN = rf"{_DATE_TIME}(?:Z|[+-]00:00)?"

# CSV as Python's csv module reads it in strict mode, as RE2 patterns over one line (no line
# end in it): a quoted field, an unquoted one (it may hold a quote, not as its first
# character), a quoted field still open at the end of the line, and the text inside quotes.
_QUOTED = r'"(?:[^"]|"")*"'
_UNQUOTED = r'[^",][^,]*'
_OPEN = r'"(?:[^"]|"")*'
_INSIDE = r'(?:[^"]|"")*'
_FIELDS = rf"(?:(?:{_QUOTED}|{_UNQUOTED})?,)*"  # whole fields, each with its comma
_LAST = rf"(?:{_QUOTED}|{_UNQUOTED}|{_OPEN})?"
LINE_PATTERNS = {
    # starting outside quotes, the line ends inside a quoted field
    "opens_from_outside": _FIELDS + _OPEN,
    # starting inside a quoted field, it ends inside one (the same or a later one)
    "open_from_inside": rf'{_INSIDE}|{_INSIDE}",{_FIELDS}{_OPEN}',
    # the line is valid CSV from either state (after a closing quote: a comma or the end)
    "valid_from_outside": _FIELDS + _LAST,
    "valid_from_inside": rf'{_INSIDE}(?:"(?:,{_FIELDS}{_LAST})?)?',
}
# One field of a valid record, after the comma put before it.
FIELD_PATTERN = r',("(?:[^"]|"")*"|[^,]*)'
