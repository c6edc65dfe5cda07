"""The LandingDataset component: declarations load from a defs folder, and a bad one fails
naming its file, its line and the attribute at fault (what `dg check defs` prints)."""

import importlib
import sys
import traceback
import uuid

import pytest
from dagster.components.resolved.errors import ResolutionException

from pipeline_assets.components.landing_dataset import LandingDataset, declared_datasets

GOOD = """\
type: pipeline_assets.components.LandingDataset
attributes:
  name: refunds
  layout: daily
  key: refund_id
  time_column: refunded_at
  columns:
    - {name: refund_id, type: string, required: true}
    - {name: amount, type: cents, required: true}
    - {name: refunded_at, type: timestamp, required: true}
"""


def load(tmp_path, **folders: str) -> list[LandingDataset]:
    """The datasets declared in a defs folder of a package made for this test."""
    package = f"defs_{uuid.uuid4().hex[:8]}"
    root = tmp_path / package
    (root / "defs").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "defs" / "__init__.py").write_text("")
    for folder, text in folders.items():
        (root / "defs" / "datasets" / folder).mkdir(parents=True)
        (root / "defs" / "datasets" / folder / "defs.yaml").write_text(text)
    sys.path.insert(0, str(tmp_path))
    try:
        return declared_datasets(importlib.import_module(f"{package}.defs"))
    finally:
        sys.path.remove(str(tmp_path))


def test_a_declaration_loads_as_the_dataset_it_declares(tmp_path):
    (refunds,) = load(tmp_path, refunds=GOOD)
    assert isinstance(refunds, LandingDataset)
    assert (refunds.name, refunds.layout, refunds.key, refunds.time_column) == (
        "refunds",
        "daily",
        "refund_id",
        "refunded_at",
    )
    assert refunds.column_names == ["refund_id", "amount", "refunded_at"]
    assert refunds.ingest_job.name == "ingest_refunds_job"


def test_the_shipped_datasets_are_declarations():
    assert [d.name for d in declared_datasets()] == ["customers", "orders"]


@pytest.mark.parametrize(
    ("change", "line", "says"),
    [
        (("key: refund_id", "key: id"), 5, "attributes.key: 'id' is not one of the columns"),
        (("layout: daily", "layout: weekly"), 4, "attributes.layout: Input should be 'daily'"),
        (
            ("{name: amount, type: cents", "{name: refund_id, type: cents"),
            9,
            "attributes.columns[1].name: duplicate column 'refund_id'",
        ),
        (  # Dagster's own YAML model refuses this one first, in its words
            ("type: cents", "type: money"),
            7,
            "attributes.columns.list[Column].1.type at ",
        ),
        (
            ("time_column: refunded_at", "time_column: amount"),
            6,
            "attributes.time_column: 'amount' is not a timestamp column",
        ),
    ],
)
def test_a_bad_declaration_names_its_file_line_and_attribute(tmp_path, change, line, says):
    with pytest.raises(Exception) as raised:  # noqa: PT011 (Dagster wraps it: the cause is ours)
        load(tmp_path, refunds=GOOD.replace(*change))
    message = "".join(traceback.format_exception(raised.value))
    where = f"datasets/refunds/defs.yaml:{line}"
    assert f"{where} - {says}" in message or f"{says}{tmp_path}" in message, message
    assert where in message


def test_a_dataset_declared_twice_is_refused(tmp_path):
    with pytest.raises(ResolutionException, match=r"declared twice .*\['refunds'\]"):
        load(tmp_path, refunds=GOOD, refunds_again=GOOD)
