-- The pieces that hold a quote: their lines, the quote state each line starts in, and their
-- records, appended to `records` (validate_records.sql has the CSV rules).
--
-- Each line is judged from both states it can start in, with the patterns lib/rules.py
-- builds: does it end inside a quoted field, is it valid CSV. Lines without a quote cannot
-- change the state. The state at a line's start follows from the lines before it in its
-- piece (a piece starts outside any quoted field): the last one that ends in the same state
-- whichever it started in, and the number of lines since then that flip it.
create or replace temp table line_states as
with quoted_pieces as (
    select
        piece_no,
        file_no,
        line_offset,
        is_last,
        lone_cr,
        line_pieces(content, lone_cr) as pieces,
    from pieces
    where has_quotes
),

numbered as (
    select
        piece_no,
        file_no,
        line_offset,
        is_last,
        lone_cr,
        len(pieces) as n_pieces,
        unnest(pieces) as piece,
        generate_subscripts(pieces, 1) as line_in_piece,
    from quoted_pieces
),

lines as (
    select
        piece_no,
        file_no,
        is_last,
        line_offset + line_in_piece as line_number,
        -- the line with its line end, as in the file
        if(lone_cr or line_in_piece = n_pieces, piece, piece || chr(10)) as text,
        rtrim(piece, chr(13) || chr(10)) as body,
    from numbered
    -- after a final \n, splitting leaves an empty piece that is no line
    where lone_cr or line_in_piece < n_pieces or piece <> ''
),

steps as (
    select
        *,
        case
            when contains(body, '"')
                then regexp_full_match(body, getvariable('opens_from_outside'))
            else false
        end as opens_from_outside,
        case
            when contains(body, '"')
                then regexp_full_match(body, getvariable('open_from_inside'))
            else true
        end as open_from_inside,
    from lines
),

counted as (
    select
        *,
        -- the line turns outside into inside and inside into outside
        opens_from_outside and not open_from_inside as flips,
        -- the line ends in the same state whichever it started in
        opens_from_outside = open_from_inside as sets,
        sum((opens_from_outside and not open_from_inside)::int) over by_line as flips_so_far,
    from steps
    window by_line as (partition by piece_no order by line_number)
),

last_set as (
    select
        *,
        -- the latest line before this one that set the state: the flips up to it, and the
        -- state it set, in one number
        last_value(if(sets, flips_so_far * 2 + opens_from_outside::int, null) ignore nulls)
            over before_line as packed,
    from counted
    window before_line as (
        partition by piece_no
        order by line_number
        rows between unbounded preceding and 1 preceding
    )
),

stated as (
    select
        *,
        (
            coalesce(packed % 2, 0) + flips_so_far - flips::int - coalesce(packed // 2, 0)
        ) % 2 = 1 as inside,
    from last_set
),

final as (
    select
        piece_no,
        file_no,
        is_last,
        line_number,
        text,
        body,
        inside,
        -- the next line continues this one's record
        coalesce(lead(inside) over by_line, false) as continued,
        if(inside, open_from_inside, opens_from_outside) as ends_inside,
        case
            when not contains(body, '"') then true
            when inside then regexp_full_match(body, getvariable('valid_from_inside'))
            else regexp_full_match(body, getvariable('valid_from_outside'))
        end as valid,
    from stated
    window by_line as (partition by piece_no order by line_number)
)

select * from final;

-- The records of the files that hold a quote: a record starts at each non-blank line
-- outside a quoted field and takes the lines inside quotes after it; a blank line outside
-- quotes is no record (Python's csv skips it too).
insert into records
with line_states as (
    select * from line_states
),

single_line_records as (
    select
        file_no,
        line_number,
        body as raw_line,
    from line_states
    where not inside and body <> '' and not continued
),

multi_line_records as (
    select
        file_no,
        min(line_number) as line_number,
        rtrim(string_agg(text, '' order by line_number), chr(13) || chr(10)) as raw_line,
    from (
        select
            *,
            sum((not inside)::int) over (partition by piece_no order by line_number) as record_no,
        from line_states
        where (not inside and body <> '' and continued) or inside
    )
    group by piece_no, file_no, record_no
),

final as (
    select * from single_line_records
    union all
    select * from multi_line_records
)

select * from final;
