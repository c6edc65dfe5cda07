"""The instance's run coordinator (`pipeline_assets/dagster.yaml`): Dagster's run queue, plus
`pipeline/days` on every run it queues.

The CLI, the landing sensor and the schedules tag their runs with their days; the runs that
automation, a launch from the UI or the backfill daemon submit carry only Dagster's partition
tags, which the runs list does not show. Every run the instance queues passes here, so this
is the one place that covers them all.
"""

import dagster as dg

from pipeline_assets.runner import DAYS_TAG, run_days


class DaysTaggingRunCoordinator(dg.QueuedRunCoordinator):
    """Dagster's `QueuedRunCoordinator` (same config, same daemon); a run it queues without
    `pipeline/days` gets it from `dagster/partition` or its partition range's tags."""

    def submit_run(self, context: dg.SubmitRunContext) -> dg.DagsterRun:
        run = context.dagster_run
        days = run_days(run.tags)
        if days is not None and DAYS_TAG not in run.tags:
            self._instance.add_run_tags(run.run_id, {DAYS_TAG: days})
        return super().submit_run(context)  # reloads the run: the tag is in what it returns
