-- The orders' row rules, after the field count and every column's own (lib/checked_sql.py
-- puts them into the `case` that names a row's first broken rule).
            when not (ordered_at_utc >= hour_start and ordered_at_utc < hour_end)
                then {
                    'code': 'outside_partition_hour',
                    'detail': 'ordered_at ' || py_datetime(ordered_at_utc)
                    || ' is outside the folder''s hour [' || py_datetime(hour_start)
                    || ', ' || py_datetime(hour_end) || ')',
                }
            when order_total_cents <> subtotal_cents + tax_paid_cents
                then {
                    'code': 'total_mismatch',
                    'detail': 'order_total ' || order_total_cents
                    || ' != subtotal + tax_paid ' || (subtotal_cents + tax_paid_cents),
                }
