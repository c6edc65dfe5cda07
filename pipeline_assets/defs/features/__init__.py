"""customer_features: a daily asset computed outside Dagster, through Pipes."""
