{#-
    The window models' bookkeeping: two small tables in the intermediate schema, written by
    macros (they are no models, so no Dagster assets and outside the marts' lineage).

    window_pending (model, order_id, order_date)
        What each window_replace model still has to re-derive: every order that has a
        version in a build's window, or whose current version was in it before the build
        (a retraction leaves no other trace), with every day it touches (its versions' days
        and the days it was current on). Recorded at the start of every dbt invocation that
        builds one of these models (on-run-start, `record_window_pending`), before any of them
        changes, for each of them that exists; each model consumes its own rows in its
        post-hook. A model skipped after a failed test, or killed, keeps its rows, so its next
        build (any window) applies them: a change is never lost between two models.

    window_built (model, window_start, window_end)
        The windows each model was built for. A model writes rows only for days of its
        window or of a window it built before: a build, the first one included, holds
        exactly the days it was asked for (today's rows never ride along with yesterday's
        build), and a later build corrects only days already published. The latest end is
        the data horizon (`data_horizon`): raw partitions from it on are not read yet.

    The incremental models take part (their strategy is window_replace); the hooks are set
    for every model in dbt_project.yml and do nothing for the others.
-#}

{% macro window_state_relation(name) -%}
    {{- return(api.Relation.create(
        database=target.database,
        schema=generate_schema_name('intermediate', none),
        identifier=name,
    )) -}}
{%- endmacro %}


{% macro window_state_models() -%}
    {%- set models = [] -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and is_window_model(node.config) -%}
        {%- do models.append(node) -%}
    {%- endfor -%}
    {{- return(models) -}}
{%- endmacro %}


{% macro is_window_model(config) -%}
    {{- return(
        config.get('materialized') == 'incremental'
        and config.get('incremental_strategy') == 'window_replace'
    ) -}}
{%- endmacro %}


{#- on-run-start: the tables, then what this invocation's window touches, committed here
    (dbt leaves a hook's transaction open and rolls it back; on Snowflake commit is a no-op,
    every statement commits itself). -#}
{% macro record_window_pending() -%}
    {%- if not execute or flags.WHICH not in ('build', 'run') -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set models = window_state_models() -%}
    {%- if not (models | selectattr('unique_id', 'in', selected_resources) | list) -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set pending = window_state_relation('window_pending') -%}
    {%- set built = window_state_relation('window_built') -%}
    {%- set built_exists = adapter.get_relation(
        database=built.database, schema=built.schema, identifier=built.identifier
    ) -%}
    {%- set existing, orders_grained, legacy = [], [], [] -%}
    {%- for node in models -%}
        {%- set relation = adapter.get_relation(
            database=node.database, schema=node.schema, identifier=node.alias
        ) -%}
        {%- if relation -%}
            {%- do existing.append(node.name) -%}
            {%- if (node.config.meta or {}).get('window_affected') == 'order_id' -%}
                {%- do orders_grained.append(relation) -%}
            {%- endif -%}
            {%- set known = built_exists and run_query(
                "select count(*) from " ~ built ~ " where model = '" ~ node.name ~ "'"
            ).columns[0].values()[0] -%}
            {%- if not known -%}
                {%- do legacy.append((node.name, relation, node.config.meta.window_column)) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set raw = window_raw_orders() -%}
    {%- call statement('record_window_pending', auto_begin=True) -%}
    {{ window_state_ddl() }};
    {%- for name, relation, column in legacy %}
    {#- built before this bookkeeping existed: it holds the days it has rows for #}
    insert into {{ built }} (model, window_start, window_end)
    select
        '{{ name }}',
        cast(cast(min({{ column }}) as date) as timestamp),
        cast({{ dbt.dateadd('day', 1, 'cast(max(' ~ column ~ ') as date)') }} as timestamp)
    from {{ relation }}
    having count(*) > 0;
    {%- endfor %}
    {%- if existing and raw %}
    {{ window_pending_insert(pending, raw, orders_grained, existing) }}
    {%- endif %}
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{- return('') -}}
{%- endmacro %}


{% macro window_state_ddl() -%}
create schema if not exists {{ window_state_relation('window_pending').without_identifier() }};
create table if not exists {{ window_state_relation('window_pending') }} (
    model varchar, order_id varchar, order_date date
);
create table if not exists {{ window_state_relation('window_built') }} (
    model varchar, window_start timestamp, window_end timestamp
)
{%- endmacro %}


{% macro window_raw_orders() -%}
    {%- for source in graph.sources.values()
        if source.source_name == 'shop' and source.name == 'orders' -%}
        {{- return(adapter.get_relation(
            database=source.database, schema=source.schema, identifier=source.identifier
        )) -}}
    {%- endfor -%}
    {{- return(none) -}}
{%- endmacro %}


{% macro window_pending_insert(pending, raw, orders_grained, models) -%}
insert into {{ pending }} (model, order_id, order_date)
with

raw_versions as (

    select
        order_id,
        cast(ordered_at as timestamp) as ordered_at
    from {{ raw }}
    where cast(_partition as timestamp) < {{ data_horizon() }}

),

current_rows as (

    {% for relation in orders_grained -%}
    select
        order_id,
        cast(ordered_at as timestamp) as ordered_at
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {% else -%}
    select
        order_id,
        ordered_at
    from raw_versions
    where false
    {%- endfor %}

),

touched as (

    select order_id from raw_versions where {{ window_filter('ordered_at') }}
    union
    select order_id from current_rows where {{ window_filter('ordered_at') }}

),

touched_days as (

    select
        raw_versions.order_id,
        cast(raw_versions.ordered_at as date) as order_date
    from raw_versions
    inner join touched on raw_versions.order_id = touched.order_id
    union
    select
        current_rows.order_id,
        cast(current_rows.ordered_at as date) as order_date
    from current_rows
    inner join touched on current_rows.order_id = touched.order_id

),

models as (

    {% for name in models -%}
    select '{{ name }}' as model
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    models.model,
    touched_days.order_id,
    touched_days.order_date
from touched_days
cross join models
{%- endmacro %}


{#- This model's pending rows, as a subquery: (order_id, order_date). -#}
{% macro window_pending() -%}
    (select order_id, order_date from {{ window_state_relation('window_pending') }}
    where model = '{{ model.name }}')
{%- endmacro %}


{#- True for a value inside a window this model was built for before this build. -#}
{% macro in_built_window(column, column_type='timestamp') -%}
    exists (
        select 1 from {{ window_state_relation('window_built') }} as built
        where built.model = '{{ model.name }}'
            and {{ window_filter(column, column_type, 'built.window_start', 'built.window_end') }}
    )
{%- endmacro %}


{#- What this build may write: its window, and on an incremental build the days of windows
    it built before (corrections of published days), never a day nobody asked for. -#}
{% macro window_rows(column, column_type='timestamp') -%}
    {%- if is_incremental() -%}
        ({{ window_filter(column, column_type) }} or {{ in_built_window(column, column_type) }})
    {%- else -%}
        {{ window_filter(column, column_type) }}
    {%- endif -%}
{%- endmacro %}


{#- The end of the raw data the models see: the latest window end any of them was built
    for, or this build's. Raw partitions at or after it are invisible: today's hours load
    as they land, but until today is built they change no published day (a correction in
    today's files moves its order once today is over). A bare `dbt build` (the default
    window) sees everything. -#}
{% macro data_horizon() -%}
    {%- set built = window_state_relation('window_built') -%}
    {%- if execute and adapter.get_relation(
        database=built.database, schema=built.schema, identifier=built.identifier
    ) -%}
        greatest({{ window_end() }}, coalesce(
            (select max(horizon.window_end) from {{ built }} as horizon),
            {{ window_end() }}
        ))
    {%- else -%}
        {{ window_end() }}
    {%- endif -%}
{%- endmacro %}


{#- pre-hook: a first build (no table yet) or a full refresh starts the model's record anew. -#}
{% macro window_state_before_build() -%}
    {%- if not execute or not is_window_model(model.config) -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set exists = adapter.get_relation(
        database=this.database, schema=this.schema, identifier=this.identifier
    ) -%}
    {%- if exists and not flags.FULL_REFRESH -%}
        {{- return('') -}}
    {%- endif -%}
    {%- for name in ('window_pending', 'window_built') -%}
        {%- set relation = window_state_relation(name) -%}
        {%- if adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier
        ) -%}
            {%- do run_query("delete from " ~ relation ~ " where model = '" ~ model.name ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return('') -}}
{%- endmacro %}


{#- post-hook, run in the model's transaction where the engine has one (DuckDB): the model
    applied its pending rows and now holds its window. -#}
{% macro window_state_after_build() -%}
    {%- if not execute or not is_window_model(model.config) -%}
        {{- return('') -}}
    {%- endif -%}
    {{ window_state_ddl() }};
    delete from {{ window_state_relation('window_pending') }} where model = '{{ model.name }}';
    {%- set built = window_state_relation('window_built') %}
    insert into {{ built }} (model, window_start, window_end)
    select '{{ model.name }}', {{ window_start() }}, {{ window_end() }}
    where not exists (
        select 1 from {{ built }}
        where model = '{{ model.name }}'
            and window_start = {{ window_start() }}
            and window_end = {{ window_end() }}
    )
{%- endmacro %}
