"""The project's component types (`dg list components`)."""

from pipeline_assets.components.landing_dataset import LandingDataset

__all__ = ["LandingDataset"]
