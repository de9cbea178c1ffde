"""Technical success, technical efficacy and complications, each with an exact CI.

Definitions (Ahmed et al., image-guided tumor ablation: standardization of
terminology, Radiology/JVIR 2014; SIR classification for complications):

* technical success, per lesion: the PO was ablated as planned
  (``lesions.technical_success``); per patient: all of the patient's POs;
* technical efficacy, per lesion: complete ablation at the first follow-up CT
  (``lesions.complete_ablation``); per patient: all of the patient's POs;
* complications: per session (sessions with at least one), per patient
  (patients with at least one), by type and by SIR class (patients and
  sessions with at least one of that kind, and the number of events); major =
  the plan's ``major_classes`` (SIR C-F), minor = the rest.

Every proportion carries a Clopper-Pearson CI
(``analysis.stats.proportions.proportion``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.stats.proportions import proportion


def _yes(series: pd.Series) -> pd.Series:
    """True where the value reads yes / true / 1 (any case); computed once per distinct value."""
    codes, distinct = pd.factorize(series, use_na_sentinel=False)
    yes = pd.Series(distinct).astype(str).str.lower().isin(["yes", "true", "1"]).to_numpy()
    return pd.Series(yes.take(codes), index=series.index)


def _count_distinct(codes: np.ndarray) -> int:
    """``nunique()`` of the values whose factorize ``codes`` these are (missing, -1, not counted)."""
    codes = codes[codes >= 0]
    return int(np.count_nonzero(np.bincount(codes))) if codes.size else 0


def technical_outcomes(patients: pd.DataFrame, lesions: pd.DataFrame, alpha: float = 0.05) -> dict:
    """{lesion: {success, efficacy}, patient: {success, efficacy}} as proportions with CIs."""
    lesion_success = _yes(lesions["technical_success"])
    lesion_efficacy = _yes(lesions["complete_ablation"])
    return {
        "lesion": {
            "success": proportion(int(lesion_success.sum()), len(lesions), alpha),
            "efficacy": proportion(int(lesion_efficacy.sum()), len(lesions), alpha),
        },
        "patient": {
            "success": proportion(int(patients["technical_success"].astype(bool).sum()), len(patients), alpha),
            "efficacy": proportion(int(patients["technical_efficacy"].astype(bool).sum()), len(patients), alpha),
        },
    }


def complication_outcomes(
    patients: pd.DataFrame,
    sessions: pd.DataFrame,
    complications: pd.DataFrame,
    sir_classes: list[str],
    major_classes: list[str],
    alpha: float = 0.05,
) -> dict:
    """Complications per session, per patient, by type and by SIR class (see module docstring)."""
    n_patients, n_sessions = len(patients), len(sessions)
    patient_of = sessions.set_index("session_id")["patient_id"]
    events = complications.copy()
    events["patient_id"] = events["session_id"].map(patient_of)
    events["major"] = events["sir_class"].isin(major_classes)

    # the ids hashed once (10^6 complications): each count of distinct sessions or patients is a
    # count of distinct integer codes (nunique of the text ids, one hash pass each, 24 times)
    session_code = pd.factorize(events["session_id"])[0]
    patient_code = pd.factorize(events["patient_id"])[0]

    def summary(rows: np.ndarray) -> dict:
        return {
            "events": int(rows.sum()),
            "sessions": proportion(_count_distinct(session_code[rows]), n_sessions, alpha),
            "patients": proportion(_count_distinct(patient_code[rows]), n_patients, alpha),
        }

    major = events["major"].to_numpy(dtype=bool)
    kinds = {"any": np.ones(len(events), dtype=bool), "major": major, "minor": ~major}
    kind_of, kind_values = pd.factorize(events["complication"])   # groupby's groups (missing left out)
    by_type = sorted(((kind, kind_of == j) for j, kind in enumerate(kind_values)), key=lambda kv: str(kv[0]))
    sir_class = events["sir_class"].to_numpy()
    result = {
        "per_session": {kind: proportion(_count_distinct(session_code[rows]), n_sessions, alpha)
                        for kind, rows in kinds.items()},
        "per_patient": {kind: proportion(_count_distinct(patient_code[rows]), n_patients, alpha)
                        for kind, rows in kinds.items()},
        "events": {kind: int(rows.sum()) for kind, rows in kinds.items()},
        "by_type": {str(kind): summary(rows) for kind, rows in by_type},
        "by_sir_class": {cls: summary(sir_class == cls) for cls in sir_classes},
        "major_classes": list(major_classes),
        "n_sessions": n_sessions,
        "n_patients": n_patients,
    }
    return result
