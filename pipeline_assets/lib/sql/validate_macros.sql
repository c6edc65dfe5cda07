-- The contract's value rules as DuckDB macros, for the validation session only (temporary).
-- Constants come from session variables that lib/validate.py sets from the contract
-- (max_cents, max_value_chars, strip_pattern, timestamp_pattern).

-- A value without the leading and trailing whitespace Python's str.strip() removes; a
-- missing value (a column the file lacks) is empty. Most values start and end with a
-- printable ASCII character, and skip the pattern.
create or replace temp macro strip(v) as
    case
        when v is null then ''
        when ascii(v) between 33 and 126 and ascii(v[-1]) between 33 and 126 then v
        else regexp_replace(v, getvariable('strip_pattern'), '', 'g')
    end;

create or replace temp macro py_escape(s) as
    replace(replace(replace(replace(s, '\', '\\'), chr(9), '\t'), chr(10), '\n'), chr(13), '\r');

-- A value as Python's repr() shows it in a detail (quotes, backslashes, \t \n \r escaped).
create or replace temp macro py_repr(s) as
    case
        when contains(s, '''') and not contains(s, '"')
            then '"' || py_escape(s) || '"'
        else '''' || replace(py_escape(s), '''', '\''') || ''''
    end;

-- A timestamp as Python's str(datetime) prints it (microseconds only when there are some).
create or replace temp macro py_datetime(ts) as
    if(
        epoch_us(ts) % 1000000 = 0,
        strftime(ts, '%Y-%m-%d %H:%M:%S'),
        strftime(ts, '%Y-%m-%d %H:%M:%S.%f')
    );

-- A value of the contract's ISO-8601 grammar as naive UTC; null when it is not in the
-- grammar or names an impossible moment (2024-02-30, 24:00, year 0, an offset hour of 24).
-- DuckDB's cast ignores an offset, which is right for the UTC ones; `timestamp_reason`
-- refuses the others. The grammar's time ends in a digit, so a sign 6 characters from the
-- end starts an offset.
create or replace temp macro utc_timestamp(v) as
    case
        when regexp_full_match(v, getvariable('timestamp_pattern'))
            and v[1:4] <> '0000'
            and v[12:13] <= '23'
            and not (v[-6] in ('+', '-') and (v[-5:-4] > '23' or v[-2:] > '59'))
            then try_cast(replace(v, 'T', ' ') as timestamp)
    end;

-- The value carries no offset, Z, +00:00 or -00:00.
create or replace temp macro is_utc(v) as
    v[-6] not in ('+', '-') or v[-6:] in ('+00:00', '-00:00');

-- Integer cents as bigint, when the value is an optional sign and ASCII digits that fit.
create or replace temp macro cents(v) as
    case when regexp_full_match(v, '[+-]?[0-9]+') then try_cast(v as bigint) end;

-- Whether a value passes its column's rules: the common case, checked cheaply; the reasons
-- below are only worked out for the values that do not.
create or replace temp macro text_ok(v, required) as
    length(v) <= getvariable('max_value_chars') and not contains(v, chr(0))
    and (v <> '' or not required);

create or replace temp macro timestamp_ok(v, ts, required) as
    (v = '' and not required) or (ts is not null and is_utc(v));

create or replace temp macro cents_ok(c) as
    coalesce(c between 0 and getvariable('max_cents'), false);

-- Why a value breaks its column's rule (null when it does not); only worked out for the rows
-- that break one. Length, NUL and required come first for every column, then its kind.
create or replace temp macro text_reason(name, v, required) as
    case
        when length(v) > getvariable('max_value_chars')
            then {'code': 'value_too_long', 'detail': name || ' has ' || length(v) || ' characters'}
        when contains(v, chr(0))
            then {'code': 'nul_character', 'detail': name || ' contains a NUL character'}
        when v = '' and required
            then {'code': 'missing_required_value', 'detail': name || ' is required'}
    end;

-- A timestamp column's value `v`, given its `utc_timestamp(v)` as `ts`.
create or replace temp macro timestamp_reason(name, v, ts, required) as
    coalesce(
        text_reason(name, v, required),
        case
            when v = '' then null
            when ts is null
                then {'code': 'invalid_timestamp', 'detail': py_repr(v) || ' is not an ISO-8601 timestamp'}
            when not is_utc(v)
                then {'code': 'non_utc_timezone', 'detail': py_repr(v) || ' has offset ' || v[-6:] || ', want UTC'}
        end
    );

-- A cents column's value: an optional sign and ASCII digits, 0 <= value <= max_cents. A
-- number too long for hugeint (38 digits) is out of range, or negative with a minus.
create or replace temp macro cents_reason(name, v) as
    coalesce(
        text_reason(name, v, true),
        case
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

-- An integer of any length as Python's str(int(v)) prints it.
create or replace temp macro py_int(v) as
    if(v[1] = '-', '-', '') || coalesce(nullif(ltrim(ltrim(v, '+-'), '0'), ''), '0');
