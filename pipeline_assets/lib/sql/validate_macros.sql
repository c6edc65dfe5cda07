-- The contract's value rules as DuckDB macros, for the validation session only (temporary).
-- Constants come from session variables that lib/validate.py sets from the contract.
--
-- Rows are judged in two steps: a cheap check that lets through the values that are surely
-- valid (almost all of them), then, for the rest of the rows only, the first rule each value
-- breaks, with its detail, in the contract's order.

-- A value without the leading and trailing whitespace Python's str.strip() removes
-- (`strip_pattern`); a missing value (a column the file lacks) is empty. `spaced`: the row
-- holds any such whitespace at all; most rows do not, and skip the pattern.
create or replace temp macro strip(v, spaced) as
    case
        when v is null then ''
        when spaced then regexp_replace(v, getvariable('strip_pattern'), '', 'g')
        else v
    end;

-- A file's text cut into lines, each with its line end: at every "\n" (the common case,
-- cheap), or, in a file holding a lone "\r", at "\r\n", "\r" and "\n" as Python's csv does.
create or replace temp macro line_pieces(content, lone_cr) as
    if(
        lone_cr,
        regexp_extract_all(content, '[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+'),
        string_split(content, chr(10))
    );

-- A timestamp of the contract's grammar with no offset, Z, +00:00 or -00:00, as naive UTC;
-- null for anything else, a non-UTC offset included (`timestamp_reason` tells them apart).
-- DuckDB's cast ignores such an offset, and refuses impossible dates; the pattern refuses
-- hour 24, the cast would not.
create or replace temp macro utc_timestamp(v) as
    case
        when regexp_full_match(v, getvariable('utc_timestamp_pattern')) and not starts_with(v, '0000')
            then try_cast(v as timestamp)
    end;

-- Integer cents as bigint, when the value is an optional sign and ASCII digits that fit.
create or replace temp macro cents(v) as
    case when regexp_full_match(v, '[+-]?[0-9]+') then try_cast(v as bigint) end;

create or replace temp macro cents_ok(c) as
    coalesce(c between 0 and getvariable('max_cents'), false);

-- Why a value breaks its column's rules; null when it does not. Length, NUL and required
-- come first for every column, then its kind.
create or replace temp macro text_reason(name, v, required) as
    case
        when length(v) > getvariable('max_value_chars')
            then {'code': 'value_too_long', 'detail': name || ' has ' || length(v) || ' characters'}
        when contains(v, chr(0))
            then {'code': 'nul_character', 'detail': name || ' contains a NUL character'}
        when v = '' and required
            then {'code': 'missing_required_value', 'detail': name || ' is required'}
    end;

create or replace temp macro timestamp_reason(name, v, required) as
    coalesce(
        text_reason(name, v, required),
        case
            when v = '' or utc_timestamp(v) is not null then null
            when not regexp_full_match(v, getvariable('timestamp_pattern'))
                or starts_with(v, '0000')
                or try_cast(v as timestamp) is null
                then {'code': 'invalid_timestamp', 'detail': py_repr(v) || ' is not an ISO-8601 timestamp'}
            else {'code': 'non_utc_timezone', 'detail': py_repr(v) || ' has offset ' || right(v, 6) || ', want UTC'}
        end
    );

-- A number too long for hugeint (38 digits) is out of range, or negative with a minus. An
-- optional column's empty value is null, not a reason.
create or replace temp macro cents_reason(name, v, required) as
    coalesce(
        text_reason(name, v, required),
        case
            when v = '' then null
            when not regexp_full_match(v, '[+-]?[0-9]+')
                then {
                    'code': 'invalid_amount',
                    'detail': name || '=' || py_repr(left(v, 40)) || ' is not integer cents',
                }
            when try_cast(v as hugeint) < 0 or (try_cast(v as hugeint) is null and v[1] = '-')
                then {'code': 'negative_amount', 'detail': name || '=' || py_int(v) || ' is negative'}
            when try_cast(v as hugeint) is null or try_cast(v as hugeint) > getvariable('max_cents')
                then {
                    'code': 'amount_out_of_range',
                    'detail': name || '=' || py_int(v) || ' exceeds ' || getvariable('max_cents'),
                }
        end
    );

-- Details as Python prints them: repr() of a string (quotes, backslashes, \t \n \r
-- escaped; other control characters are left as they are), str(int(v)) of an integer of
-- any length, str() of a datetime (microseconds only when there are some).
create or replace temp macro py_escape(s) as
    replace(replace(replace(replace(s, '\', '\\'), chr(9), '\t'), chr(10), '\n'), chr(13), '\r');

create or replace temp macro py_repr(s) as
    case
        when contains(s, '''') and not contains(s, '"')
            then '"' || py_escape(s) || '"'
        else '''' || replace(py_escape(s), '''', '\''') || ''''
    end;

create or replace temp macro py_int(v) as
    if(v[1] = '-', '-', '') || coalesce(nullif(ltrim(ltrim(v, '+-'), '0'), ''), '0');

create or replace temp macro py_datetime(ts) as
    if(
        epoch_us(ts) % 1000000 = 0,
        strftime(ts, '%Y-%m-%d %H:%M:%S'),
        strftime(ts, '%Y-%m-%d %H:%M:%S.%f')
    );
