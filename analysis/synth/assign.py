"""Give each patient a (PFS, OS) pair of the calibrated design by prognostic score.

Whole design records are permuted among patients, so the marginal Kaplan-Meier
curves (medians, CIs, landmark rates, follow-up) never change; only which
patient carries which time does, and that makes the published factors
prognostic:

1. PFS: patients ranked by ``pfs_score`` (higher = worse) take the design's PFS
   records in ascending time order (rank + noise). A PFS-censored record
   carries its OS record with it (alive, censored the same day).
2. OS: the remaining OS records, in ascending time order, each go to the
   worst-``os_score`` patient still without one whose PFS time is not later
   (PFS <= OS). The eligible sets are nested, so this greedy pass always
   completes when the design admits any pairing (it does: the template).

The scores are linear in the published factors (non-radical treatment of the
primary, synchronous POs for PFS only, initial BCLC C-D) plus standard normal
noise; the weights are the calibration's only free parameters besides the seed.
"""

from __future__ import annotations

import heapq

import numpy as np

from analysis.synth.design import Design

RADICAL = ("resection", "transplant", "ablation", "TACE+ablation")  # analysis_plan.yml derived.radical_treatment
# log-hazard-like weights of the prognostic scores
PFS_WEIGHTS = {"non_radical": 1.0, "synchronous": 1.0, "bclc_c_d": 0.7}
OS_WEIGHTS = {"non_radical": 1.0, "bclc_c_d": 0.8}
NOISE_SD = 1.0


def prognostic_scores(covariates, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = {
        "non_radical": ~covariates["primary_treatment"].isin(RADICAL).to_numpy(),
        "synchronous": covariates["synchronous"].to_numpy(dtype=bool),
        "bclc_c_d": covariates["bclc_initial"].isin(["C", "D"]).to_numpy(),
    }
    n = len(covariates)
    pfs = sum(w * x[k] for k, w in PFS_WEIGHTS.items()) + NOISE_SD * rng.standard_normal(n)
    os_ = sum(w * x[k] for k, w in OS_WEIGHTS.items()) + NOISE_SD * rng.standard_normal(n)
    return pfs, os_


def assign_pairs(design: Design, pfs_score: np.ndarray, os_score: np.ndarray):
    """Per patient (pfs_days, pfs_event, os_days, os_event) from ``design`` (same length)."""
    n = len(design)
    # design PFS records in ascending time (events before censorings on a tie)
    order = np.lexsort((1 - design.pfs_event, design.pfs_days))
    patients_worst_first = np.argsort(-pfs_score, kind="stable")
    pfs_days = np.empty(n, dtype=np.int64)
    pfs_event = np.empty(n, dtype=np.int64)
    pfs_days[patients_worst_first] = design.pfs_days[order]
    pfs_event[patients_worst_first] = design.pfs_event[order]
    os_days = np.full(n, -1, dtype=np.int64)
    os_event = np.zeros(n, dtype=np.int64)
    censored = pfs_event == 0
    os_days[censored] = pfs_days[censored]

    # OS records not tied to a PFS-censored record: the design's OS records minus
    # those with pfs_event == 0 (which are alive, same day)
    free = design.pfs_event == 1
    records = np.lexsort((design.os_event[free], design.os_days[free]))
    rec_days = design.os_days[free][records]
    rec_event = design.os_event[free][records]
    candidates = np.nonzero(~censored)[0]
    candidates = candidates[np.argsort(pfs_days[candidates], kind="stable")]
    heap: list[tuple[float, int]] = []
    j = 0
    neg_score = (-os_score).tolist()
    cand_days = pfs_days[candidates].tolist()
    cand_list = candidates.tolist()
    out_patient = np.empty(len(rec_days), dtype=np.int64)
    for k, day in enumerate(rec_days.tolist()):
        while j < len(cand_list) and cand_days[j] <= day:
            heapq.heappush(heap, (neg_score[cand_list[j]], cand_list[j]))
            j += 1
        if not heap:
            raise RuntimeError("design admits no pairing with PFS <= OS")
        out_patient[k] = heapq.heappop(heap)[1]
    os_days[out_patient] = rec_days
    os_event[out_patient] = rec_event
    return pfs_days, pfs_event, os_days, os_event
