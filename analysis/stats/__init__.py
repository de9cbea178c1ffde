"""Statistical estimators: one per module, pure functions on arrays and DataFrames."""
