{#-
    Override of dbt's get_where_subquery (applies the `where` config of every data test),
    adding window placeholders.

    dbt renders a test's `where` config at parse time with a restricted context in which
    project macros are undefined ("The macro 'window_filter' is undefined ... the generic
    test configuration parser currently does not support using custom macros"), so
    `where: "{{ window_filter(...) }}"` cannot work. Instead use these placeholders, which
    are expanded here, when the test is compiled:

        __in_window__(column)             window_filter(column, 'timestamp')
        __in_window__(column, date)       window_filter(column, 'date')
        __window_start__ / __window_end__ window_start() / window_end()

    e.g.  config: {where: "__in_window__(order_date, date)"}
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {#- re.split with 2 groups -> [text, column, type, text, column, type, ..., text] -#}
        {%- set parts = modules.re.split(
            '__in_window__\\(\\s*([A-Za-z_][A-Za-z0-9_]*)\\s*(?:,\\s*(date|timestamp)\\s*)?\\)', where
        ) -%}
        {%- set expanded = [] -%}
        {%- for part in parts -%}
            {%- if loop.index0 % 3 == 0 -%}
                {%- do expanded.append(part) -%}
            {%- elif loop.index0 % 3 == 1 -%}
                {%- do expanded.append(window_filter(part, parts[loop.index0 + 1] or 'timestamp') | string) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set where = expanded | join('') -%}
        {%- set where = where
            | replace('__window_start__', window_start() | string)
            | replace('__window_end__', window_end() | string) -%}
        {%- if '__in_window__' in where -%}
            {{- exceptions.raise_compiler_error(
                "could not expand __in_window__ in test where config: " ~ config.get('where')
            ) -}}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
