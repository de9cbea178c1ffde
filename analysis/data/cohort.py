"""The study cohort: what every analysis reads.

``load_cohort`` reads a data directory, validates it, applies the corrections
ledger and derives the analysis variables. It is the only way analyses get data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.plan import Plan, load_plan


@dataclass(frozen=True)
class Cohort:
    """The validated, corrected, derived cohort.

    patients      one row per patient: contract columns (typed) + derived columns
                  (pfs_months, pfs_event, os_months, os_event, radical_treatment,
                  hcc_to_po_months, po_timing, n_pos, largest_po_cm, mean_po_cm,
                  n_sessions, modality_first, any_complication, major_complication,
                  technical_success, technical_efficacy, alive, followup_months)
    lesions       one row per PO, with its session's date
    sessions      one row per session, with n_complications and major_complication
    complications one row per complication, with major (bool)
    factors       one categorical column per plan factor, indexed like ``patients``
    screening     the screening file, or None
    corrections   the corrections applied: the ledger's rows (its nine columns, as text,
                  in ledger order), possibly empty; see docs/DATA.md
    provenance    {file name: SHA-256 of the raw file}
    warnings      study-criteria warnings (data valid, criteria broken)
    """

    patients: pd.DataFrame
    lesions: pd.DataFrame
    sessions: pd.DataFrame
    complications: pd.DataFrame
    factors: pd.DataFrame
    screening: pd.DataFrame | None
    corrections: pd.DataFrame
    provenance: dict[str, str]
    data_dir: Path
    plan: Plan
    warnings: list[str] = field(default_factory=list)
    synthetic_evidence: tuple[str, ...] = ()   # analysis.data.provenance: fingerprint, marker, manifest

    @property
    def is_synthetic(self) -> bool:
        """True for generated data: ids with the generator's fingerprint, a marker file or a manifest saying so."""
        return bool(self.synthetic_evidence)


def load_cohort(data_dir: str | Path | None = None, plan: Plan | None = None) -> Cohort:
    """Load, validate, correct and derive the cohort in ``data_dir`` (default: shipped data).

    Raises ``analysis.data.errors.DataError`` listing every problem found.
    """
    from analysis.data.derive import derive_cohort
    from analysis.data.load import read_data_dir

    plan = plan or load_plan()
    directory = paths.data_dir(data_dir)
    tables = read_data_dir(directory, plan)
    return derive_cohort(tables, plan, directory)
