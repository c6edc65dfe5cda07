-- Landing files -> CSV records, by the CSV rules of Python's csv module in strict mode (the
-- contract's reference): a line ends at \r\n, \r or \n; a field is quoted ("" is a quote
-- inside it, line ends inside it are data) or unquoted (a " inside it is data); after a
-- closing quote comes a comma or the end of the line. A record's line number is its first
-- physical line, its raw line its text without the final line end.
--
-- In a file without any quote each non-blank line is one record, and this file reads them.
-- The records of the files that hold a quote come from validate_quoted_records.sql.

create or replace temp table texts as
with files as (
    select * from files
),

read as (
    select
        files.file_no,
        -- a leading byte-order mark is not data (utf-8-sig)
        if(starts_with(t.content, chr(65279)), t.content[2:], t.content) as content,
    from read_text(getvariable('paths')) as t
    inner join files on t.filename = files.path
),

final as (
    select
        file_no,
        content,
        -- a file without any quote is one record per non-blank line
        contains(content, '"') as has_quotes,
        -- a \r that is not part of \r\n ends a line too; splitting at \n is much faster, and
        -- enough for every file whose line ends are \n or \r\n
        regexp_matches(content, '\r[^\n]|\r$') as lone_cr,
    from read
)

select * from final;

-- The records of the files without a quote: their non-blank lines (Python's csv skips a
-- blank line too).
create or replace temp table records as
with unquoted_files as (
    select
        file_no,
        lone_cr,
        line_pieces(content, lone_cr) as pieces,
    from texts
    where not has_quotes
),

unquoted_lines as (
    select
        file_no,
        lone_cr,
        unnest(pieces) as piece,
        generate_subscripts(pieces, 1) as line_number,
    from unquoted_files
),

unquoted_records as (
    select
        file_no,
        line_number,
        case
            when lone_cr then rtrim(piece, chr(13) || chr(10))
            -- split at \n: only the \r of a \r\n can be left at the end
            when ends_with(piece, chr(13)) then piece[:-2]
            else piece
        end as raw_line,
    from unquoted_lines
),

final as (
    select * from unquoted_records
    where raw_line <> ''
)

select * from final;
