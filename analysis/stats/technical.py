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

import pandas as pd

from analysis.stats.proportions import proportion


def _yes(series: pd.Series) -> pd.Series:
    return series.astype(str).str.lower().isin(["yes", "true", "1"])


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

    def summary(rows: pd.DataFrame) -> dict:
        return {
            "events": int(len(rows)),
            "sessions": proportion(rows["session_id"].nunique(), n_sessions, alpha),
            "patients": proportion(rows["patient_id"].nunique(), n_patients, alpha),
        }

    kinds = {"any": events, "major": events[events["major"]], "minor": events[~events["major"]]}
    result = {
        "per_session": {kind: proportion(rows["session_id"].nunique(), n_sessions, alpha) for kind, rows in kinds.items()},
        "per_patient": {kind: proportion(rows["patient_id"].nunique(), n_patients, alpha) for kind, rows in kinds.items()},
        "events": {kind: int(len(rows)) for kind, rows in kinds.items()},
        "by_type": {str(kind): summary(rows) for kind, rows in sorted(events.groupby("complication"), key=lambda kv: str(kv[0]))},
        "by_sir_class": {cls: summary(events[events["sir_class"] == cls]) for cls in sir_classes},
        "major_classes": list(major_classes),
        "n_sessions": n_sessions,
        "n_patients": n_patients,
    }
    return result
