"""The data layer: raw CSV files -> validated, corrected, derived study cohort.

Public entry point: :func:`analysis.data.load_cohort`.
"""

from analysis.data.cohort import Cohort, load_cohort

__all__ = ["Cohort", "load_cohort"]
