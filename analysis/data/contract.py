"""The data contract (STUDY.md, "Data format"): files, columns and their kinds.

Kinds: ``id`` and ``str`` stay text; ``date`` is ISO YYYY-MM-DD; ``float``/``int``
are numbers; ``code`` columns take only the listed values; ``yesno`` is yes/no.
The schema layer (``analysis.data.schema``) builds its checks from this table.
"""

from __future__ import annotations

REQUIRED_FILES = ("patients", "lesions", "sessions", "complications")
OPTIONAL_FILES = ("corrections", "screening")

YES_NO = ("yes", "no")

# column -> (kind, codes or None, required)
COLUMNS: dict[str, dict[str, tuple[str, tuple | None, bool]]] = {
    "patients": {
        "patient_id": ("id", None, True),
        "sex": ("code", ("M", "F"), True),
        "age": ("float", None, True),
        "ecog": ("int", (0, 1, 2, 3, 4), True),
        "etiology": ("code", ("HBV", "HCV", "alcohol", "other"), True),
        "child_pugh": ("code", ("A", "B", "C"), True),
        "afp_ng_ml": ("float", None, False),
        "bclc_initial": ("code", ("0", "A", "B", "C", "D"), True),
        "primary_treatment": ("code", ("resection", "transplant", "ablation", "TACE",
                                       "TACE+ablation", "systemic", "radiotherapy", "other"), True),
        "hcc_diagnosis_date": ("date", None, True),
        "po_diagnosis_date": ("date", None, True),
        "first_ablation_date": ("date", None, True),
        "intrahepatic_control": ("code", YES_NO, True),
        "systemic_therapy": ("code", YES_NO, True),
        "progression_date": ("date", None, False),
        "death_date": ("date", None, False),
        "last_followup_date": ("date", None, True),
    },
    "lesions": {
        "lesion_id": ("id", None, True),
        "patient_id": ("id", None, True),
        "session_id": ("id", None, True),
        "side": ("code", ("left", "right"), True),
        "lobe": ("code", ("RUL", "RML", "RLL", "LUL", "LLL"), True),
        "diameter_cm": ("float", None, True),
        "modality": ("code", ("MWA", "RFA"), True),
        "technical_success": ("code", YES_NO, True),
        "complete_ablation": ("code", YES_NO, True),
        "local_progression_date": ("date", None, False),
    },
    "sessions": {
        "session_id": ("id", None, True),
        "patient_id": ("id", None, True),
        "session_date": ("date", None, True),
        "modality": ("code", ("MWA", "RFA"), True),
        "anesthesia": ("code", ("local", "general"), True),
    },
    "complications": {
        "session_id": ("id", None, True),
        "complication": ("code", ("pneumothorax", "pleural_effusion", "hemorrhage", "hemoptysis",
                                  "infection", "pain", "fever", "other"), True),
        "sir_class": ("code", ("A", "B", "C", "D", "E", "F"), True),
        "treatment": ("str", None, False),
    },
    "corrections": {
        "correction_id": ("id", None, True),
        "file": ("str", None, True),
        "record_id": ("str", None, True),
        "column": ("str", None, True),
        "old_value": ("str", None, False),
        "new_value": ("str", None, False),
        "reason": ("str", None, True),
        "corrected_on": ("date", None, True),
        "corrected_by": ("str", None, True),
    },
    "screening": {
        "screening_id": ("id", None, True),
        "patient_id": ("id", None, False),
        "included": ("code", YES_NO, True),
        "exclusion_reason": ("str", None, False),
    },
}

# Allowed ranges of numeric columns: (lowest, lowest allowed?, highest or None).
RANGES: dict[str, dict[str, tuple[float, bool, float | None]]] = {
    "patients": {"age": (0, True, 120), "afp_ng_ml": (0, True, None)},
    "lesions": {"diameter_cm": (0, False, None)},
}

# The id column of each file whose rows have one (corrections name records by it;
# complications.csv has none: analysis.data.corrections names its rows session_id#n).
RECORD_ID = {"patients": "patient_id", "lesions": "lesion_id", "sessions": "session_id",
             "screening": "screening_id"}

# Files whose rows are identified by a unique id column (checked for uniqueness).
UNIQUE_ID = {**RECORD_ID, "corrections": "correction_id"}
