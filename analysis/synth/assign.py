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
primary, synchronous POs for PFS only, initial BCLC C-D) plus standard Gumbel
noise -log(E), E ~ Exp(1). That choice makes the ranking exactly that of a
proportional-hazards model: under PH, T_i = H0^-1(E_i exp(-b'x_i)), so the order
of the T_i is the order of log E_i - b'x_i whatever the baseline hazard H0;
handing the design's sorted times out in that order gives a PH cohort whose
baseline is the design (so the Cox model's PH assumption is not broken by
construction). The weights are log hazard ratios; with the seed they are the
calibration's only free parameters.
"""

from __future__ import annotations

import heapq

import numpy as np

from analysis.synth.design import Design

RADICAL = ("resection", "transplant", "ablation", "TACE+ablation")  # analysis_plan.yml derived.radical_treatment
# log hazard ratios of the prognostic scores
PFS_WEIGHTS = {"non_radical": 1.25, "synchronous": 1.25, "bclc_c_d": 1.0}
OS_WEIGHTS = {"non_radical": 1.4, "bclc_c_d": 1.2}


def prognostic_scores(covariates, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = {
        "non_radical": ~covariates["primary_treatment"].isin(RADICAL).to_numpy(),
        "synchronous": covariates["synchronous"].to_numpy(dtype=bool),
        "bclc_c_d": covariates["bclc_initial"].isin(["C", "D"]).to_numpy(),
    }
    n = len(covariates)
    # standard Gumbel noise, -log(E): the rank order of a proportional-hazards model
    pfs = sum(w * x[k] for k, w in PFS_WEIGHTS.items()) - np.log(rng.standard_exponential(n))
    os_ = sum(w * x[k] for k, w in OS_WEIGHTS.items()) - np.log(rng.standard_exponential(n))
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
    # heap of OS-score ranks (0 = worst score): plain ints keep heapq fast at 10^6 patients
    worst_first = np.argsort(-os_score, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[worst_first] = np.arange(n)
    cand_rank = rank[candidates].tolist()
    # how many candidates (in PFS order) are eligible for each OS record: PFS day <= OS day
    eligible = np.searchsorted(pfs_days[candidates], rec_days, side="right").tolist()
    heap: list[int] = []
    push, pop = heapq.heappush, heapq.heappop
    taken: list[int] = []
    j = 0
    for limit in eligible:
        while j < limit:
            push(heap, cand_rank[j])
            j += 1
        if not heap:
            raise RuntimeError("design admits no pairing with PFS <= OS")
        taken.append(pop(heap))
    out_patient = worst_first[np.asarray(taken, dtype=np.int64)]
    os_days[out_patient] = rec_days
    os_event[out_patient] = rec_event
    return pfs_days, pfs_event, os_days, os_event
