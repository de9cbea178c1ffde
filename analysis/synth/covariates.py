"""Patient covariates of the synthetic cohort: clinically plausible, vectorised.

Distributions (a Chinese single-centre HCC population with lung oligometastases):
HBV-dominated aetiology, mostly Child-Pugh A, ECOG 0-1, right-skewed AFP with
some values missing, initial BCLC stages 0-D with the primary treatment drawn
given the stage (curative options mostly for 0-A), about a third synchronous POs.

The published counts come from ``published_results.yml`` (``CohortCounts``).
With ``calibrated=True`` (N = the published number of patients) they are exact:
33 men / 29 women, mean age 61.0, 145 POs in 1-4 per patient. Otherwise every
quantity is drawn with the same proportions (any N).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.synth.design import CohortCounts

# (codes, probabilities)
ECOG = ((0, 1, 2), (0.60, 0.35, 0.05))
ETIOLOGY = (("HBV", "HCV", "alcohol", "other"), (0.80, 0.07, 0.08, 0.05))
CHILD_PUGH = (("A", "B"), (0.87, 0.13))
BCLC = (("0", "A", "B", "C", "D"), (0.06, 0.40, 0.30, 0.22, 0.02))
# primary treatment given the initial BCLC stage
TREATMENTS = ("resection", "transplant", "ablation", "TACE+ablation", "TACE", "systemic", "radiotherapy")
TREATMENT_BY_BCLC = {
    "0": (0.55, 0.05, 0.30, 0.05, 0.05, 0.00, 0.00),
    "A": (0.50, 0.04, 0.18, 0.10, 0.18, 0.00, 0.00),
    "B": (0.28, 0.00, 0.07, 0.20, 0.40, 0.03, 0.02),
    "C": (0.25, 0.00, 0.03, 0.12, 0.35, 0.20, 0.05),
    "D": (0.00, 0.00, 0.00, 0.00, 0.30, 0.50, 0.20),
}
AGE_SD, AGE_RANGE = 9.0, (34, 82)
AFP_LOG_MEDIAN, AFP_LOG_SD, P_AFP_MISSING = np.log(25.0), 2.0, 0.06
P_SYNCHRONOUS = 0.35
P_INTRAHEPATIC_CONTROL = 0.74
P_SYSTEMIC_AFTER = 0.40
# shape of the POs-per-patient distribution (fewer patients with more POs); the
# exact counts are the nearest ones that add up to the published patients and POs
POS_SHAPE = (0.31, 0.26, 0.23, 0.20)


def _choice(rng: np.random.Generator, spec, n: int) -> np.ndarray:
    codes, probs = spec
    return np.asarray(codes, dtype=object)[rng.choice(len(codes), size=n, p=np.asarray(probs) / sum(probs))]


def _exact_counts(rng: np.random.Generator, codes, counts) -> np.ndarray:
    values = np.repeat(np.asarray(codes, dtype=object), counts)
    return values[rng.permutation(len(values))]


def _ages(rng: np.random.Generator, n: int, mean_age: float, calibrated: bool) -> np.ndarray:
    age = np.clip(np.round(rng.normal(mean_age, AGE_SD, n)), *AGE_RANGE).astype(int)
    if calibrated:  # nudge single patients by one year until the mean is exactly the published one
        target = int(round(mean_age * n))
        while age.sum() != target:
            step = 1 if age.sum() < target else -1
            movable = np.nonzero((age + step >= AGE_RANGE[0]) & (age + step <= AGE_RANGE[1]))[0]
            age[rng.choice(movable)] += step
    return age


def draw_covariates(rng: np.random.Generator, n: int, counts: CohortCounts, calibrated: bool) -> pd.DataFrame:
    """One row per patient: the contract's clinical columns plus ``n_pos`` and ``synchronous``."""
    pos_values = np.arange(counts.pos_range[0], counts.pos_range[1] + 1)
    pos_counts = counts.pos_counts(POS_SHAPE)
    if calibrated:
        sex = _exact_counts(rng, ("M", "F"), (counts.n_male, n - counts.n_male))
        n_pos = _exact_counts(rng, pos_values, pos_counts).astype(int)
    else:
        sex = np.where(rng.random(n) < counts.n_male / counts.n_patients, "M", "F").astype(object)
        n_pos = pos_values[rng.choice(len(pos_values), size=n, p=np.asarray(pos_counts) / counts.n_patients)]
    age = _ages(rng, n, counts.mean_age, calibrated)
    ecog = _choice(rng, ECOG, n).astype(int)
    etiology = _choice(rng, ETIOLOGY, n)
    child_pugh = _choice(rng, CHILD_PUGH, n)
    afp = np.round(np.exp(rng.normal(AFP_LOG_MEDIAN, AFP_LOG_SD, n)), 1)
    afp = np.where(rng.random(n) < P_AFP_MISSING, np.nan, np.maximum(afp, 1.0))
    bclc = _choice(rng, BCLC, n)
    # treatment given stage: inverse-CDF draw per row (vectorised over the stage table)
    cdf = np.cumsum(np.array([TREATMENT_BY_BCLC[b] for b in BCLC[0]]), axis=1)
    cdf /= cdf[:, -1:]
    stage_index = pd.Index(BCLC[0]).get_indexer(bclc)
    u = rng.random(n)
    treatment_index = (u[:, None] > cdf[stage_index]).sum(axis=1)
    primary_treatment = np.asarray(TREATMENTS, dtype=object)[treatment_index]
    synchronous = rng.random(n) < P_SYNCHRONOUS
    intrahepatic_control = np.where(rng.random(n) < P_INTRAHEPATIC_CONTROL, "yes", "no").astype(object)
    systemic_therapy = np.where(rng.random(n) < P_SYSTEMIC_AFTER, "yes", "no").astype(object)
    return pd.DataFrame({
        "sex": sex, "age": age, "ecog": ecog, "etiology": etiology, "child_pugh": child_pugh,
        "afp_ng_ml": afp, "bclc_initial": bclc, "primary_treatment": primary_treatment,
        "intrahepatic_control": intrahepatic_control, "systemic_therapy": systemic_therapy,
        "n_pos": n_pos, "synchronous": synchronous,
    })
