"""Build the contract's tables (patients, sessions, lesions, complications, screening).

Everything is vectorised numpy/pandas over patients, sessions and lesions so
that 1,000,000 patients take seconds. Dates are days from the first ablation,
turned into ISO strings at the end:

* first ablation: uniform over the enrolment window (analysis_plan.yml), and
  no later than the data cut-off minus the patient's follow-up;
* PO diagnosis 2-12 weeks before the first ablation; HCC diagnosis up to 170
  days before the PO diagnosis (synchronous, <= 6 months) or 7-60 months
  before it (metachronous);
* progression = first ablation + PFS days when the PFS event is not a death on
  the same day; death and last contact = first ablation + OS days;
* 1-3 sessions 2-7 weeks apart (never after progression or last contact); the
  first session is the first ablation; each session's POs share its modality;
* complications per session (pneumothorax the most common); major (SIR C-F)
  in exactly the published number of patients (13/62) of the shipped cohort,
  with that proportion for other N;
* technical success for every PO; technical efficacy fails (one PO not
  completely ablated) in exactly 62 - 60 = 2 patients of the shipped cohort;
* the mean PO diameter is exactly the published 2.3 cm in the shipped cohort.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.synth.design import CohortCounts

ENROLMENT = (np.datetime64("2012-10-01"), np.datetime64("2019-01-31"))
DATA_CUTOFF = np.datetime64("2021-03-31")
SESSIONS_P = (0.55, 0.32, 0.13)  # 1, 2, 3 sessions (capped by the number of POs)
P_MWA = 0.7
P_GENERAL_ANAESTHESIA = 0.15
P_RIGHT = 0.56
LOBES = {"right": (("RUL", "RML", "RLL"), (0.34, 0.14, 0.52)), "left": (("LUL", "LLL"), (0.44, 0.56))}
DIAMETER_LOG_SD, DIAMETER_RANGE = 0.38, (0.5, 5.0)
# minor complications per session: (type, probability, class A share, treatment)
MINOR = (("pneumothorax", 0.30, 0.7, "observation"), ("pleural_effusion", 0.08, 0.8, ""),
         ("hemorrhage", 0.10, 0.7, ""), ("hemoptysis", 0.07, 0.6, "hemostatic drugs"),
         ("pain", 0.10, 0.5, "analgesics"), ("fever", 0.08, 0.6, "antipyretics"))
# major complications: (type, probability, treatment)
MAJOR = (("pneumothorax", 0.62, "chest tube drainage"), ("pleural_effusion", 0.12, "thoracentesis"),
         ("hemorrhage", 0.10, "hemostatic therapy and transfusion"), ("infection", 0.10, "intravenous antibiotics"),
         ("other", 0.06, "prolonged hospital stay"))
MAJOR_CLASSES = (("C", "D"), (0.85, 0.15))
EXCLUSIONS = (("more than 4 pulmonary metastases", 0.35), ("extrapulmonary metastases", 0.25),
              ("primary HCC not controlled", 0.15), ("Child-Pugh C or ECOG > 2", 0.10),
              ("follow-up shorter than 3 months", 0.15))
EXCLUDED_PER_PATIENT = 14 / 62


# ISO text of every day the generator can produce, looked up instead of formatted
_DAY0 = np.datetime64("1990-01-01")
_ISO_DAYS = np.datetime_as_string(_DAY0 + np.arange(0, 40 * 366), unit="D").astype(object)


def _iso(dates: np.ndarray) -> np.ndarray:
    """ISO dates as text ('' for NaT), by table look-up (fast for millions of rows)."""
    missing = np.isnat(dates)
    offset = (dates.astype("datetime64[D]") - _DAY0).astype(np.int64)
    text = _ISO_DAYS[np.where(missing, 0, offset)]
    text[missing] = ""
    return text


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return np.array([f"{prefix}{i:0{width}d}" for i in numbers.tolist()], dtype=object)


def _exact_flags(rng: np.random.Generator, n: int, count: int) -> np.ndarray:
    flags = np.zeros(n, dtype=bool)
    flags[rng.choice(n, size=count, replace=False)] = True
    return flags


def _decimal(values: np.ndarray) -> np.ndarray:
    """One decimal as text ('' for NaN)."""
    return np.array(["" if v != v else f"{v:.1f}" for v in values.tolist()], dtype=object)


def build_tables(rng: np.random.Generator, times, covariates: pd.DataFrame, counts: CohortCounts,
                 calibrated: bool) -> dict[str, pd.DataFrame]:
    """The five contract tables as string columns, ready for CSV.

    ``times`` = (pfs_days, pfs_event, os_days, os_event) per patient; ``counts``
    the published counts, exact when ``calibrated`` and proportions otherwise.
    """
    p_efficacy_fail = 1 - counts.efficacy_count / counts.n_patients
    p_major = counts.major_count / counts.n_patients
    mean_diameter = counts.mean_diameter_cm
    pfs_days, pfs_event, os_days, os_event = times
    n = len(covariates)
    width = max(3, len(str(n)))
    patient_id = _ids("P", np.arange(1, n + 1), width)

    # ---- dates (days relative to the first ablation, then absolute)
    latest = np.minimum(ENROLMENT[1], DATA_CUTOFF - os_days.astype("timedelta64[D]"))
    span = (latest - ENROLMENT[0]).astype(int)
    first = ENROLMENT[0] + np.floor(rng.random(n) * (span + 1)).astype("timedelta64[D]")
    po_dx = first - rng.integers(14, 85, n).astype("timedelta64[D]")
    synchronous = covariates["synchronous"].to_numpy(dtype=bool)
    gap = np.where(synchronous, rng.integers(0, 171, n), rng.integers(213, 1826, n))
    hcc_dx = po_dx - gap.astype("timedelta64[D]")
    death_without_progression = (os_event == 1) & (pfs_event == 1) & (pfs_days == os_days)
    progressed = (pfs_event == 1) & ~death_without_progression
    nat = np.datetime64("NaT", "D")
    progression = np.where(progressed, first + pfs_days.astype("timedelta64[D]"), nat)
    death = np.where(os_event == 1, first + os_days.astype("timedelta64[D]"), nat)
    last_contact = first + os_days.astype("timedelta64[D]")

    # ---- sessions: 1-3, never more than POs, 2-7 weeks apart, before progression/last contact
    n_pos = covariates["n_pos"].to_numpy()
    n_sessions = np.minimum(rng.choice(3, size=n, p=SESSIONS_P) + 1, n_pos)
    gaps = rng.integers(14, 50, (n, 3))
    gaps[:, 0] = 0
    offsets = np.cumsum(gaps, axis=1)
    limit = np.where(pfs_event == 1, pfs_days, os_days) - 1
    allowed = (np.arange(3)[None, :] < n_sessions[:, None]) & ((offsets <= limit[:, None]) | (np.arange(3) == 0))
    n_sessions = allowed.sum(axis=1)
    session_patient = np.repeat(np.arange(n), n_sessions)
    session_number = np.arange(len(session_patient)) - np.repeat(np.cumsum(n_sessions) - n_sessions, n_sessions)
    session_date = first[session_patient] + offsets[session_patient, session_number].astype("timedelta64[D]")
    first_modality = np.where(rng.random(n) < P_MWA, "MWA", "RFA")
    switch = rng.random(len(session_patient)) < 0.15
    other = np.where(first_modality[session_patient] == "MWA", "RFA", "MWA")
    session_modality = np.where((session_number > 0) & switch, other, first_modality[session_patient]).astype(object)
    session_id = (patient_id[session_patient] + "-S" + (session_number + 1).astype(str).astype(object))
    sessions = pd.DataFrame({
        "session_id": session_id,
        "patient_id": patient_id[session_patient],
        "session_date": _iso(session_date),
        "modality": session_modality,
        "anesthesia": np.where(rng.random(len(session_patient)) < P_GENERAL_ANAESTHESIA, "general", "local").astype(object),
    })
    session_start = np.cumsum(n_sessions) - n_sessions  # first session row of each patient

    # ---- lesions: n_pos per patient, spread over the patient's sessions
    lesion_patient = np.repeat(np.arange(n), n_pos)
    lesion_number = np.arange(len(lesion_patient)) - np.repeat(np.cumsum(n_pos) - n_pos, n_pos)
    lesion_session = session_start[lesion_patient] + lesion_number % n_sessions[lesion_patient]
    m = len(lesion_patient)
    side = np.where(rng.random(m) < P_RIGHT, "right", "left").astype(object)
    u = rng.random(m)
    right_lobe = np.asarray(LOBES["right"][0], dtype=object)[
        (u[:, None] > np.cumsum(LOBES["right"][1])[None, :-1]).sum(axis=1)]
    left_lobe = np.asarray(LOBES["left"][0], dtype=object)[(u > LOBES["left"][1][0]).astype(int)]
    lobe = np.where(side == "right", right_lobe, left_lobe)
    log_mu = np.log(mean_diameter) - DIAMETER_LOG_SD ** 2 / 2
    diameter = np.clip(np.exp(rng.normal(log_mu, DIAMETER_LOG_SD, m)), *DIAMETER_RANGE)
    if calibrated:  # the printed mean, exactly: rescale, round to 1 mm, fix the rounding drift
        diameter = np.round(diameter * mean_diameter / diameter.mean(), 1)
        drift = int(round((mean_diameter * m - diameter.sum()) * 10))
        adjust = rng.choice(np.nonzero(diameter > 1.0)[0], size=abs(drift), replace=False)
        diameter[adjust] += np.sign(drift) * 0.1
    diameter = np.round(diameter, 1)
    fail = (_exact_flags(rng, n, counts.n_patients - counts.efficacy_count) if calibrated
            else rng.random(n) < p_efficacy_fail)
    incomplete = fail[lesion_patient] & (lesion_number == 0)
    local_prog = progressed[lesion_patient] & (incomplete | (rng.random(m) < 0.12))
    lesions = pd.DataFrame({
        "lesion_id": patient_id[lesion_patient] + "-L" + (lesion_number + 1).astype(str).astype(object),
        "patient_id": patient_id[lesion_patient],
        "session_id": session_id[lesion_session],
        "side": side,
        "lobe": lobe,
        "diameter_cm": _decimal(diameter),
        "modality": session_modality[lesion_session],
        "technical_success": np.full(m, "yes", dtype=object),
        "complete_ablation": np.where(incomplete, "no", "yes").astype(object),
        "local_progression_date": _iso(np.where(local_prog, progression[lesion_patient], nat)),
    })

    # ---- complications: minor ones per session; one major in the first session of chosen patients
    s = len(session_patient)
    rows = []
    for kind, p, share_a, treatment in MINOR:
        hit = np.nonzero(rng.random(s) < p)[0]
        sir = np.where(rng.random(len(hit)) < share_a, "A", "B")
        rows.append(pd.DataFrame({"row": hit, "complication": kind, "sir_class": sir, "treatment": treatment}))
    major = _exact_flags(rng, n, counts.major_count) if calibrated else rng.random(n) < p_major
    major_session = session_start[np.nonzero(major)[0]]
    kinds = np.asarray([k for k, _, _ in MAJOR], dtype=object)
    pick = rng.choice(len(MAJOR), size=len(major_session), p=[p for _, p, _ in MAJOR])
    classes = np.asarray(MAJOR_CLASSES[0], dtype=object)[rng.choice(2, size=len(major_session), p=MAJOR_CLASSES[1])]
    rows.append(pd.DataFrame({"row": major_session, "complication": kinds[pick], "sir_class": classes,
                              "treatment": np.asarray([t for _, _, t in MAJOR], dtype=object)[pick]}))
    comp = pd.concat(rows, ignore_index=True)
    # a session has at most one complication of each type; the major one wins
    comp = comp.iloc[::-1].drop_duplicates(["row", "complication"]).iloc[::-1]
    comp = comp.sort_values("row", kind="stable")
    complications = pd.DataFrame({
        "session_id": session_id[comp["row"].to_numpy()],
        "complication": comp["complication"].to_numpy(dtype=object),
        "sir_class": comp["sir_class"].to_numpy(dtype=object),
        "treatment": comp["treatment"].to_numpy(dtype=object),
    })

    # ---- patients
    patients = pd.DataFrame({
        "patient_id": patient_id,
        "sex": covariates["sex"].to_numpy(dtype=object),
        "age": covariates["age"].astype(str).to_numpy(dtype=object),
        "ecog": covariates["ecog"].astype(str).to_numpy(dtype=object),
        "etiology": covariates["etiology"].to_numpy(dtype=object),
        "child_pugh": covariates["child_pugh"].to_numpy(dtype=object),
        "afp_ng_ml": _decimal(covariates["afp_ng_ml"].to_numpy(dtype=float)),
        "bclc_initial": covariates["bclc_initial"].to_numpy(dtype=object),
        "primary_treatment": covariates["primary_treatment"].to_numpy(dtype=object),
        "hcc_diagnosis_date": _iso(hcc_dx),
        "po_diagnosis_date": _iso(po_dx),
        "first_ablation_date": _iso(first),
        "intrahepatic_control": covariates["intrahepatic_control"].to_numpy(dtype=object),
        "systemic_therapy": covariates["systemic_therapy"].to_numpy(dtype=object),
        "progression_date": _iso(progression),
        "death_date": _iso(death),
        "last_followup_date": _iso(last_contact),
    })

    # ---- screening: every included patient plus plausible exclusions
    n_excluded = int(round(EXCLUDED_PER_PATIENT * n))
    reasons = np.asarray([r for r, _ in EXCLUSIONS], dtype=object)[
        np.sort(rng.choice(len(EXCLUSIONS), size=n_excluded, p=[p for _, p in EXCLUSIONS]))]
    total = n + n_excluded
    order = rng.permutation(total)  # screening order mixes included and excluded patients
    included = order < n
    screening_patient = np.where(included, patient_id[np.minimum(order, n - 1)], "")
    screening_reason = np.where(included, "", reasons[np.maximum(order - n, 0)])
    screening = pd.DataFrame({
        "screening_id": _ids("S", np.arange(1, total + 1), max(3, len(str(total)))),
        "patient_id": screening_patient.astype(object),
        "included": np.where(included, "yes", "no").astype(object),
        "exclusion_reason": screening_reason.astype(object),
    })
    return {"patients": patients, "lesions": lesions, "sessions": sessions,
            "complications": complications, "screening": screening}
