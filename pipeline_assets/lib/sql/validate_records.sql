-- Landing files -> CSV records, by the CSV rules of Python's csv module in strict mode (the
-- contract's reference): a line ends at \r\n, \r or \n; a field is quoted ("" is a quote
-- inside it, line ends inside it are data) or unquoted (a " inside it is data); after a
-- closing quote comes a comma or the end of the line. A record's line number is its first
-- physical line, its raw line its text without the final line end.
--
-- The files arrive as `pieces` (lib/validate.py hands them over from memory, a batch at a
-- time): pieces of a file's text that each end where a record ends (lib/pieces.py), with the
-- file's physical line before each piece (`line_offset`), whether the piece holds a quote
-- and whether it holds a lone \r. In a piece without any quote each non-blank line is one
-- record, and this file reads them. The records of the pieces that hold a quote come from
-- validate_quoted_records.sql.

create or replace temp table records as
with unquoted_pieces as (
    select
        file_no,
        line_offset,
        lone_cr,
        line_pieces(content, lone_cr) as pieces,
    from pieces
    where not has_quotes
),

unquoted_lines as (
    select
        file_no,
        line_offset,
        lone_cr,
        unnest(pieces) as piece,
        generate_subscripts(pieces, 1) as line_in_piece,
    from unquoted_pieces
),

unquoted_records as (
    select
        file_no,
        line_offset + line_in_piece as line_number,
        case
            when lone_cr then rtrim(piece, chr(13) || chr(10))
            -- split at \n: only the \r of a \r\n can be left at the end
            when ends_with(piece, chr(13)) then piece[:-2]
            else piece
        end as raw_line,
    from unquoted_lines
),

-- Python's csv skips a blank line too; splitting after a final \n leaves an empty piece.
final as (
    select * from unquoted_records
    where raw_line <> ''
)

select * from final;
