"""Resources whose every field an operator can override alone, for one run, in the launchpad.

Dagster 1.13 turns the values a resource is instantiated with into one default for its
whole `config` block, and leaves each field as its class declares it: a run config that
sets one field must then set every required one (`Missing required config entry`), and a
field with a class default silently falls back to that default, not to the configured
value. `configured` gives each field its own default, the configured value, so the fields
a run does not set keep their values. (`configure_at_launch` does the same for the schema
but hands out a partial resource, which the CLI cannot call.)
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import dagster as dg
import pydantic

R = TypeVar("R", bound=dg.ConfigurableResource)


def configured(cls: type[R], **values: Any) -> R:
    """`cls(**values)`, each value also the launchpad default of its own field.

    A secret given as `dg.EnvVar` stays one: its default is the variable, read at run time.
    Nested resources are not config fields and are passed through as they are.
    """
    fields: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dg.ConfigurableResource):
            continue
        info = cls.model_fields[name]
        default = {"env": value.env_var_name} if isinstance(value, dg.EnvVar) else value
        annotation = (
            Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        )
        fields[name] = (
            annotation,
            pydantic.Field(
                default=default,
                description=info.description,
                json_schema_extra=info.json_schema_extra,
            ),
        )
    derived = pydantic.create_model(
        cls.__name__, __base__=cls, __module__=cls.__module__, __doc__=cls.__doc__, **fields
    )
    return derived(**values)
