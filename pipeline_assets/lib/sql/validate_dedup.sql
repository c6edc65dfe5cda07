-- `checked` rows -> `outcomes`, by the contract's dedup rule: of the valid rows with the
-- same key in the day, the greatest updated_at wins, and a row with one beats a row without;
-- on a tie the last file in lexical key order (file_no), then the last line. The others are
-- quarantined as superseded, naming the winner.

create or replace temp table outcomes as
with checked as (
    select * from checked
),

ranked as (
    select
        *,
        -- the rule's order as one number, so the latest version is a max():
        -- updated_at (0 without one) | file_no (20 bits) | line_number (32 bits)
        (
            coalesce(epoch_us(updated_at) - epoch_us(timestamp '0001-01-01') + 1, 0)::hugeint
            * 4503599627370496  -- 2^52
            + file_no * 4294967296  -- 2^32
            + line_number
        ) as version,
    from checked
),

latest as (
    select
        business_key,
        max(version) as latest_version,
    from ranked
    where reason is null
    group by business_key
),

final as (
    select
        ranked.* exclude (business_key, reason, version),
        case
            when ranked.reason is not null then ranked.reason
            when ranked.version < latest.latest_version
                then {
                    'code': 'superseded_duplicate',
                    'detail': 'superseded by '
                    || getvariable('keys')[((latest.latest_version // 4294967296) % 1048576)::int + 1]
                    || ' line ' || (latest.latest_version % 4294967296),
                }
        end as reason,
    from ranked
    left join latest
        on ranked.reason is null and ranked.business_key = latest.business_key
)

select * from final;
