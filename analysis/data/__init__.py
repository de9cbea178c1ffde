"""The data layer: raw CSV files -> validated, corrected, derived study cohort.

Public entry point: :func:`analysis.data.load_cohort`.

The entry point is imported on first use (PEP 562 ``__getattr__``): importing a
submodule such as ``analysis.data.errors`` (every command does, for its error
report) then costs no pandas import (0.3 s of CPU) in a command that reads no data.
"""

__all__ = ["Cohort", "load_cohort"]


def __getattr__(name: str):
    if name in __all__:
        from analysis.data import cohort

        return getattr(cohort, name)
    raise AttributeError(f"module 'analysis.data' has no attribute {name!r}")
