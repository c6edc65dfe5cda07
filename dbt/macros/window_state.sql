{#-
    The window models' bookkeeping: small tables in the intermediate schema, written by
    macros (they are no models, so no Dagster assets and outside the marts' lineage).

    A window model (incremental, strategy window_replace) declares in its meta how a row of
    each upstream landing dataset maps to what it must re-derive:

        window_column: order_date          the column its window applies to
        window_affected: order_id          what it replaces when pending: its key column, or
                                           its window column (a model of whole days)
        window_key: order_id               the key its rows are about (default:
                                           window_affected)
        window_inputs:                     each landing dataset it reads, by source table:
          orders: {key: order_id, day: ordered_at}   a row's key, and the time that puts the
                                                     key on a day
          payments: {key: order_id}                  a row's key only: it lands on any day
                                                     and moves the key's days

    window_pending (model, pending_key, pending_day)
        What each window model still has to re-derive: every key that a row of any of its
        inputs, landed on a day of a build's window, maps to, or that was current in the
        window before the build (a retraction leaves no other trace), with every day the key
        touches (its rows' days in the day-placing inputs, and the days it is current on in
        the window models of that key). Recorded at the start of every dbt invocation that
        builds a window model (on-run-start, `record_window_pending`), before any of them
        changes, for each of them that exists; each model consumes its own rows in its
        post-hook. A model skipped after a failed test, or killed, keeps its rows, so its
        next build (any window) applies them: a change is never lost between two models.

    window_seen (source, key_column, partition_day, pending_key)
        The keys each landed day of an input without a day column held when it was last in
        a build's window: a retracted row of such a dataset (a payment of an older order,
        say) reaches the days of its key on the next build of the day it had landed on.

    window_built (model, window_start, window_end)
        The windows each model was built for. A model writes rows only for days of its
        window or of a window it built before: a build, the first one included, holds
        exactly the days it was asked for (today's rows never ride along with yesterday's
        build), and a later build corrects only days already published. The latest end is
        the data horizon (`data_horizon`): raw partitions from it on are not read yet.

    The hooks are set for every model in dbt_project.yml and do nothing for the others.
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


{#- A window model's declaration (above), checked: its window column, what it replaces, its
    key and its inputs. -#}
{% macro window_config(node) -%}
    {%- set meta = node.config.meta or {} -%}
    {%- set inputs = meta.get('window_inputs') -%}
    {%- if not inputs or inputs is not mapping -%}
        {{- exceptions.raise_compiler_error(
            "window model " ~ node.name ~ ": meta.window_inputs must map each landing dataset "
            ~ "it reads (a source table) to {key: <column>, day: <column, optional>}"
        ) -}}
    {%- endif -%}
    {%- for name, spec in inputs.items() if spec is not mapping or not spec.get('key') -%}
        {{- exceptions.raise_compiler_error(
            "window model " ~ node.name ~ ": meta.window_inputs." ~ name ~ " needs a key column"
        ) -}}
    {%- endfor -%}
    {%- set affected = meta.get('window_affected') -%}
    {{- return({
        'column': meta.get('window_column'),
        'column_type': meta.get('window_column_type') or 'timestamp',
        'affected': affected,
        'key': meta.get('window_key') or affected,
        'inputs': inputs,
    }) -}}
{%- endmacro %}


{#- The relation of a landing dataset's source table (by its table name), if it exists. -#}
{% macro window_input_relation(name) -%}
    {%- for source in graph.sources.values() if source.name == name -%}
        {{- return(adapter.get_relation(
            database=source.database, schema=source.schema, identifier=source.identifier
        )) -}}
    {%- endfor -%}
    {{- exceptions.raise_compiler_error(
        "window_inputs: no source table named " ~ name ~ " (dbt/models/staging/_sources.yml)"
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
    {%- set built = window_state_relation('window_built') -%}
    {%- set built_exists = adapter.get_relation(
        database=built.database, schema=built.schema, identifier=built.identifier
    ) -%}
    {%- set groups, keyed, legacy, seen = {}, {}, [], {} -%}
    {%- for node in models -%}
        {%- set config = window_config(node) -%}
        {%- for name, spec in config.inputs.items() if not spec.get('day') -%}
            {%- do seen.update({name ~ '.' ~ spec.key: (name, spec.key)}) -%}
        {%- endfor -%}
        {%- set relation = adapter.get_relation(
            database=node.database, schema=node.schema, identifier=node.alias
        ) -%}
        {%- if relation -%}
            {#- models with the same key and inputs share one computation -#}
            {%- set signature = tojson([config.key, config.inputs]) -%}
            {%- if signature not in groups -%}
                {%- do groups.update({signature: {'config': config, 'models': []}}) -%}
            {%- endif -%}
            {%- do groups[signature].models.append(node.name) -%}
            {%- if config.affected == config.key -%}
                {%- do keyed.setdefault(config.key, []).append((relation, config)) -%}
            {%- endif -%}
            {%- set known = built_exists and run_query(
                "select count(*) from " ~ built ~ " where model = '" ~ node.name ~ "'"
            ).columns[0].values()[0] -%}
            {%- if not known -%}
                {%- do legacy.append((node.name, relation, config.column)) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do window_state_migrate() -%}
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
    {%- for group in groups.values() %}
    {{ window_pending_insert(group.config, keyed.get(group.config.key, []), group.models) }};
    {%- endfor %}
    {%- for name, key in seen.values() %}
    {{ window_seen_refresh(name, key) }}
    {%- endfor %}
    {%- endcall -%}
    {%- do adapter.commit() -%}
    {{- return('') -}}
{%- endmacro %}


{#- window_pending as the orders-only bookkeeping made it: (model, order_id, order_date). -#}
{% macro window_state_migrate() -%}
    {%- set pending = window_state_relation('window_pending') -%}
    {%- set found = adapter.get_relation(
        database=pending.database, schema=pending.schema, identifier=pending.identifier
    ) -%}
    {%- if found -%}
        {%- set names = adapter.get_columns_in_relation(found) | map(attribute='name') | map('lower') | list -%}
        {%- if 'order_id' in names -%}
            {%- do run_query("alter table " ~ pending ~ " rename column order_id to pending_key") -%}
            {%- do run_query("alter table " ~ pending ~ " rename column order_date to pending_day") -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{% macro window_state_ddl() -%}
create schema if not exists {{ window_state_relation('window_pending').without_identifier() }};
create table if not exists {{ window_state_relation('window_pending') }} (
    model varchar, pending_key varchar, pending_day date
);
create table if not exists {{ window_state_relation('window_seen') }} (
    source varchar, key_column varchar, partition_day date, pending_key varchar
);
create table if not exists {{ window_state_relation('window_built') }} (
    model varchar, window_start timestamp, window_end timestamp
)
{%- endmacro %}


{#- The rows of `models` (one key and one set of inputs): every key the window touches,
    with every day it touches. -#}
{% macro window_pending_insert(config, keyed, models) -%}
{%- set inputs = [] -%}
{%- for name, spec in config.inputs.items() -%}
    {%- set relation = window_input_relation(name) -%}
    {%- if relation -%}{%- do inputs.append(('input_' ~ loop.index, name, spec, relation)) -%}{%- endif -%}
{%- endfor -%}
insert into {{ window_state_relation('window_pending') }} (model, pending_key, pending_day)
with

{% for cte, name, spec, relation in inputs %}
{{ cte }} as (

    select
        cast({{ spec.key }} as varchar) as pending_key,
        cast(_partition as date) as landed_on,
        {% if spec.get('day') %}cast({{ spec.day }} as date){% else %}null{% endif %} as on_day
    from {{ relation }}
    where cast(_partition as timestamp) < {{ data_horizon() }}

),

{% endfor %}
current_rows as (

    {% for relation, other in keyed -%}
    select
        cast({{ other.key }} as varchar) as pending_key,
        cast({{ other.column }} as date) as on_day,
        {{ window_filter(other.column, other.column_type) }} as in_window
    from {{ relation }}
    union all
    {% endfor -%}
    select
        cast(null as varchar) as pending_key,
        cast(null as date) as on_day,
        false as in_window
    where false

),

touched as (

    {% for cte, name, spec, relation in inputs -%}
    select pending_key from {{ cte }}
    where {{ window_filter('landed_on', 'date') }}
    union
    {% if not spec.get('day') -%}
    select pending_key from {{ window_state_relation('window_seen') }}
    where
        source = '{{ name }}'
        and key_column = '{{ spec.key }}'
        and {{ window_filter('partition_day', 'date') }}
    union
    {% endif -%}
    {% endfor -%}
    select pending_key from current_rows where in_window

),

touched_days as (

    {% for cte, name, spec, relation in inputs if spec.get('day') -%}
    select
        {{ cte }}.pending_key,
        {{ cte }}.on_day
    from {{ cte }}
    inner join touched on {{ cte }}.pending_key = touched.pending_key
    union
    {% endfor -%}
    select
        current_rows.pending_key,
        current_rows.on_day
    from current_rows
    inner join touched on current_rows.pending_key = touched.pending_key

),

models as (

    {% for name in models -%}
    select '{{ name }}' as model
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    models.model,
    touched_days.pending_key,
    touched_days.on_day
from touched_days
cross join models
{%- endmacro %}


{#- The keys a landed day of `name` holds now replace what it held, for the days of this
    build's window: after the pending rows above read what it held. -#}
{% macro window_seen_refresh(name, key) -%}
{%- set relation = window_input_relation(name) -%}
{%- set seen = window_state_relation('window_seen') -%}
delete from {{ seen }}
where
    source = '{{ name }}'
    and key_column = '{{ key }}'
    and {{ window_filter('partition_day', 'date') }};
{%- if relation %}
insert into {{ seen }} (source, key_column, partition_day, pending_key)
select distinct
    '{{ name }}',
    '{{ key }}',
    cast(_partition as date),
    cast({{ key }} as varchar)
from {{ relation }}
where
    {{ window_filter('cast(_partition as date)', 'date') }}
    and cast(_partition as timestamp) < {{ data_horizon() }};
{%- endif %}
{%- endmacro %}


{#- This model's pending rows, as a subquery: (pending_key, pending_day). -#}
{% macro window_pending() -%}
    (select pending_key, pending_day from {{ window_state_relation('window_pending') }}
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
