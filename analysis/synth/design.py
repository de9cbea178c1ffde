"""The calibrated survival-time design: 62 (PFS, OS) pairs that reproduce the paper.

The published survival numbers pin the marginal Kaplan-Meier curves almost
completely, so the times are *solved for*, not sampled:

PFS (no censoring before 12 months, because 1-year PFS = 27/62 exactly)
    * 62 - round(0.435 * 62) = 35 events before 12 months;
    * the median is the 31st event; events 31 and 32 are tied on one day so
      that S jumps from 32/62 straight to 30/62 and no median convention
      (first time S <= 0.5, R's midpoint rule) can move it;
    * SPSS median CI (Klein & Moeschberger Practical Note 3): with no
      censoring, SE_Greenwood(S) = sqrt(S (1 - S) / n) and the density is
      f = (S(u) - S(l)) / (l - u) with u = event 27 (S = 35/62 >= 0.55) and
      l = event 35 (S = 27/62 <= 0.45); the half-width 1.96 SE / f fixes the
      gap l - u (about 1.4 months). The median day and the gap are chosen so
      that both CI bounds are as central as possible in their rounding windows;
    * between 12 and 24 months some progression-free patients are censored
      (alive at last contact, follow-up >= 16 months): the number of events and
      censorings there is enumerated until 2-year PFS rounds to the target;
    * a few patients stay progression-free beyond 24 months (censored).

OS (one death before 12 months, no censoring before 16 months)
    * alive patients are censored at their last contact, 16.0 to 50.0 months;
    * a deterministic simulated annealing (``DESIGN_SEARCH_SEED``) moves one
      death or censoring day at a time (or turns a death into an alive patient
      and back); the loss is the distance of each computed value from its
      rounding window (2- and 3-year OS, the median, both SPSS CI bounds, the
      reverse Kaplan-Meier median follow-up), and the search stops at loss 0.

Pairs: every PFS-censored patient is alive and censored at the same day in OS;
every other patient has a PFS event (progression, or death without
progression when the two days coincide) no later than their OS day. The
template pairs the sorted PFS events with the sorted remaining OS records
(a valid pairing exists exactly when this one is). ``analysis.synth.assign``
re-pairs them by covariate scores; the marginals never change.

Everything here is deterministic; ``solve_design()`` takes 1-2 seconds.
The Kaplan-Meier arithmetic is a 10-line numpy product-limit (integer days,
no lifelines) because the search evaluates it thousands of times; the tests
check it against lifelines and ``analysis.stats``, and the solved design
through ``analysis.results``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from analysis import paths

DAYS_PER_MONTH = 30.4375  # analysis_plan.yml time.days_per_unit (365.25 / 12)
Z975 = 1.959963984540054
PUBLISHED_FILE = paths.PROJECT_ROOT / "published_results.yml"
# Seed of the deterministic OS design search (not of the cohort: see analysis.synth.SHIPPED_SEED);
# of seeds 1-7, five reached every target; 6 gave the most central reverse-KM follow-up median.
DESIGN_SEARCH_SEED = 6


@dataclass(frozen=True)
class Targets:
    """The published survival targets, each as (value, decimals)."""

    n: int
    pfs_median: tuple[float, int]
    pfs_lo: tuple[float, int]
    pfs_hi: tuple[float, int]
    pfs_rate: dict[int, tuple[float, int]]  # percent
    os_median: tuple[float, int]
    os_lo: tuple[float, int]
    os_hi: tuple[float, int]
    os_rate: dict[int, tuple[float, int]]
    followup_median: tuple[float, int]
    followup_min: tuple[float, int]
    followup_max: tuple[float, int]


def load_published(path: str | Path | None = None) -> dict:
    with open(path or PUBLISHED_FILE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def targets_from_published(published: dict | None = None) -> Targets:
    published = published or load_published()
    q = {item["id"]: (float(item["published"]), int(item["decimals"])) for item in published["quantities"]}
    return Targets(
        n=int(q["n_patients"][0]),
        pfs_median=q["pfs_median"], pfs_lo=q["pfs_median_ci_lo"], pfs_hi=q["pfs_median_ci_hi"],
        pfs_rate={12: q["pfs_rate_12"], 24: q["pfs_rate_24"]},
        os_median=q["os_median"], os_lo=q["os_median_ci_lo"], os_hi=q["os_median_ci_hi"],
        os_rate={12: q["os_rate_12"], 24: q["os_rate_24"], 36: q["os_rate_36"]},
        followup_median=q["followup_median"], followup_min=q["followup_min"], followup_max=q["followup_max"],
    )


@dataclass(frozen=True)
class CohortCounts:
    """The published descriptive numbers the generator reproduces exactly at N = n_patients."""

    n_patients: int
    n_lesions: int
    n_male: int
    mean_age: float
    mean_diameter_cm: float
    efficacy_count: int  # patients with every PO completely ablated
    major_count: int  # patients with a major (SIR C-F) complication
    pos_range: tuple[int, int]

    def pos_counts(self, shape: tuple[float, ...]) -> tuple[int, ...]:
        """Patients with k = min..max POs: summing to n_patients and to n_lesions POs, closest to ``shape``."""
        low, high = self.pos_range
        ks = np.arange(low, high + 1)
        want = np.asarray(shape, dtype=float) / sum(shape) * self.n_patients
        best = None
        for head in itertools.product(range(self.n_patients + 1), repeat=len(ks) - 2):
            # the last two counts follow from the two sums
            rest_n = self.n_patients - sum(head)
            rest_pos = self.n_lesions - int(np.dot(ks[:-2], head))
            # a*k1 + b*k2 = rest_pos, a + b = rest_n
            b, r = divmod(rest_pos - ks[-2] * rest_n, ks[-1] - ks[-2])
            a = rest_n - b
            if r or a < 1 or b < 1 or min(head, default=1) < 1:
                continue
            counts = np.array((*head, a, b))
            distance = float(np.abs(counts - want).sum())
            if best is None or distance < best[0]:
                best = (distance, tuple(int(c) for c in counts))
        if best is None:
            raise ValueError("no distribution of POs per patient matches the published counts")
        return best[1]


def counts_from_published(published: dict | None = None) -> CohortCounts:
    published = published or load_published()
    q = {item["id"]: item["published"] for item in published["quantities"]}
    return CohortCounts(
        n_patients=int(q["n_patients"]), n_lesions=int(q["n_lesions"]), n_male=int(q["n_male"]),
        mean_age=float(q["mean_age"]), mean_diameter_cm=float(q["mean_po_diameter"]),
        efficacy_count=int(q["technical_efficacy_count"]), major_count=int(q["major_complications_count"]),
        pos_range=(int(q["pos_per_patient_min"]), int(q["pos_per_patient_max"])),
    )


# --------------------------------------------------------------------------- KM arithmetic
def km_steps(days: np.ndarray, event: np.ndarray):
    """Product-limit estimate on integer days: (times_months, events, S, Greenwood SE)."""
    unique, inverse = np.unique(days, return_inverse=True)
    d = np.bincount(inverse, weights=event)
    total = np.bincount(inverse)
    at_risk = len(days) - np.concatenate(([0], np.cumsum(total)[:-1]))
    s = np.cumprod(1.0 - d / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(np.where(d > 0, d / (at_risk * (at_risk - d)), 0.0))
        se = s * np.sqrt(greenwood)
    return unique / DAYS_PER_MONTH, d, s, se


def rate_at(times, s, months: float) -> float:
    i = int(np.searchsorted(times, months, side="right")) - 1
    return 1.0 if i < 0 else float(s[i])


def spss_median(times, d, s, se) -> tuple[float, float, float]:
    """Median and SPSS CI (same rule as analysis.stats.median_ci, event times only)."""
    ev = d > 0
    t, sv, sev = times[ev], s[ev], se[ev]
    tol = 1.5e-8
    reached = np.nonzero(sv <= 0.5 + tol)[0]
    if len(reached) == 0:
        return (np.nan, np.nan, np.nan)
    k = reached[0]
    up = np.nonzero(sv >= 0.55 - tol)[0]
    u, su = (t[up[-1]], sv[up[-1]]) if len(up) else (0.0, 1.0)
    low = np.nonzero(sv <= 0.45 + tol)[0]
    if len(low) == 0:
        return (t[k], np.nan, np.nan)
    half = Z975 * sev[k] * (t[low[0]] - u) / (su - sv[low[0]])
    return (t[k], t[k] - half, t[k] + half)


def km_median(times, d, s) -> float:
    """First event time with S <= 0.5; NaN when S sits exactly at 0.5 (convention-dependent)."""
    ev = d > 0
    t, sv = times[ev], s[ev]
    if np.any(np.abs(sv - 0.5) < 1e-9):
        return np.nan
    reached = np.nonzero(sv < 0.5)[0]
    return float(t[reached[0]]) if len(reached) else np.nan


def miss(value: float, target: tuple[float, int], margin: float = 0.7) -> float:
    """0 when ``value`` lies within ``margin`` of a half rounding unit of the target, else the excess."""
    published, decimals = target
    half = 0.5 * 10.0 ** -decimals
    if not np.isfinite(value):
        return 10.0
    return max(0.0, abs(value - published) - margin * half) / half


# --------------------------------------------------------------------------- OS
def _os_loss(death_days, alive_days, targets: Targets) -> float:
    days = np.concatenate((death_days, alive_days))
    event = np.concatenate((np.ones(len(death_days)), np.zeros(len(alive_days))))
    times, d, s, se = km_steps(days, event)
    loss = sum(miss(100 * rate_at(times, s, m), targets.os_rate[m]) for m in targets.os_rate)
    median, lo, hi = spss_median(times, d, s, se)
    if not np.isfinite(km_median(times, d, s)):
        loss += 1.0
    loss += miss(median, targets.os_median) + miss(lo, targets.os_lo) + miss(hi, targets.os_hi)
    # reverse Kaplan-Meier: alive at last contact is the "event", death censors
    rtimes, rd, rs, _ = km_steps(days, 1 - event)
    # weighted up: months are a coarse unit next to 0.1 % rates, and it is the hardest target
    loss += 10 * miss(km_median(rtimes, rd, rs), targets.followup_median, margin=0.9)
    return loss


def solve_os(targets: Targets, seed: int = DESIGN_SEARCH_SEED, max_iter: int = 40000, strict: bool = True):
    """OS design: (death_days, alive_days) sorted, hitting every OS target (see module docstring)."""
    n = targets.n
    rng = np.random.default_rng(seed)
    first_alive = int(round(targets.followup_min[0] * DAYS_PER_MONTH))
    last_alive = int(round(targets.followup_max[0] * DAYS_PER_MONTH))
    year = int(12 * DAYS_PER_MONTH)  # last day inside the first year
    early_deaths = n - int(round(targets.os_rate[12][0] / 100 * n))
    # start: exponential deaths with the published median; two thirds of the alive
    # followed for less than the published median follow-up (reverse KM needs it)
    n_alive = int(round(0.42 * n))
    n_dead = n - n_alive
    q = (np.arange(n_dead - early_deaths) + 0.5) / (n_dead - early_deaths)
    late = year + 1 + (-np.log1p(-q * 0.9) * (targets.os_median[0] - 12) / np.log(2) * DAYS_PER_MONTH)
    early = np.linspace(0.75, 0.9, early_deaths) * year if early_deaths else np.array([])
    death = np.sort(np.concatenate((early, late)).round().astype(int))
    split = int(round(targets.followup_median[0] * DAYS_PER_MONTH))
    n_short = (3 * n_alive) // 4
    alive = np.concatenate((np.linspace(first_alive, split, n_short),
                            np.linspace(split, last_alive, n_alive - n_short + 1)[1:])).round().astype(int)
    lo_dead = early_deaths  # deaths[:early_deaths] stay in the first year
    loss = _os_loss(death, alive, targets)
    best = (loss, death, alive)
    for iteration in range(max_iter):
        if best[0] == 0.0:
            break
        temperature = 3.0 * (1 - iteration / max_iter) ** 2
        new_death, new_alive = death.copy(), alive.copy()
        move = rng.random()
        step = int(rng.integers(1, 91)) * (1 if rng.random() < 0.5 else -1)
        if move < 0.45 and len(death) > lo_dead:
            i = rng.integers(lo_dead, len(death))
            new_death[i] = np.clip(new_death[i] + step, year + 1, int(60 * DAYS_PER_MONTH))
        elif move < 0.9 and len(alive) > 2:
            i = rng.integers(1, len(alive) - 1)
            new_alive[i] = np.clip(new_alive[i] + step, first_alive, last_alive)
        elif move < 0.95 and len(alive) > 3:  # an alive patient becomes a death at the same day
            i = rng.integers(1, len(alive) - 1)
            new_death = np.append(new_death, max(new_alive[i], year + 1))
            new_alive = np.delete(new_alive, i)
        else:  # a late death becomes an alive patient
            i = rng.integers(lo_dead, len(death))
            new_alive = np.append(new_alive, np.clip(new_death[i], first_alive, last_alive))
            new_death = np.delete(new_death, i)
        new_death, new_alive = np.sort(new_death), np.sort(new_alive)
        # PFS needs a few progression-free patients censored between 16 and 24 months
        if np.count_nonzero(new_alive <= 24 * DAYS_PER_MONTH) < 4:
            continue
        new_loss = _os_loss(new_death, new_alive, targets)
        # simulated annealing: accept worse states early on, keep the best
        if new_loss <= loss or rng.random() < np.exp(-(new_loss - loss) / max(temperature, 1e-9)):
            death, alive, loss = new_death, new_alive, new_loss
            if loss < best[0]:
                best = (loss, death, alive)
    loss, death, alive = best
    if loss > 0 and strict:
        raise RuntimeError(f"OS design search did not reach every target (loss {loss:.3f}): {death} {alive}")
    return death, alive


# --------------------------------------------------------------------------- PFS
def _pfs_loss(days, event, targets: Targets) -> float:
    times, d, s, se = km_steps(days, event)
    loss = sum(miss(100 * rate_at(times, s, m), targets.pfs_rate[m]) for m in targets.pfs_rate)
    median, lo, hi = spss_median(times, d, s, se)
    if not np.isfinite(km_median(times, d, s)):
        loss += 1.0
    return loss + miss(median, targets.pfs_median) + miss(lo, targets.pfs_lo) + miss(hi, targets.pfs_hi)


def _first_year_events(targets: Targets) -> np.ndarray:
    """The first-year PFS event days: median tie, SPSS gap, early events (see docstring)."""
    n = targets.n
    year = int(12 * DAYS_PER_MONTH)
    n_events = n - int(round(targets.pfs_rate[12][0] / 100 * n))  # 35
    k_median = int(np.ceil(n / 2))  # 31st event: S = 31/62 -> tie with the 32nd
    k_u = int(np.floor(0.45 * n))  # last event with S >= 0.55: 27
    k_l = int(np.ceil(0.55 * n))  # first event with S <= 0.45: 35
    best = None
    centre = targets.pfs_median[0] * DAYS_PER_MONTH
    for median_day in range(int(centre) - 3, int(centre) + 5):
        for gap in range(20, 80):
            for offset in range(k_median - k_u + 1, gap - (k_l - k_median - 1)):
                u = median_day - offset
                l = u + gap
                if l > year or l - median_day < k_l - k_median - 1:
                    continue
                days = _build_first_year(n, n_events, k_u, k_median, k_l, u, median_day, l)
                event = np.ones(n_events)
                # evaluate on a cohort with everyone else event-free at 2 years (rate 24 irrelevant here)
                full_days = np.concatenate((days, np.full(n - n_events, 2000)))
                full_event = np.concatenate((event, np.zeros(n - n_events)))
                times, d, s, se = km_steps(full_days, full_event)
                median, lo, hi = spss_median(times, d, s, se)
                score = (miss(median, targets.pfs_median, 0.95) + miss(lo, targets.pfs_lo, 0.95)
                         + miss(hi, targets.pfs_hi, 0.95))
                # prefer CI bounds central in their windows, then a symmetric placement of u, l
                key = (abs(lo - targets.pfs_lo[0]) + abs(hi - targets.pfs_hi[0]) + abs(median - targets.pfs_median[0]),
                       abs((median_day - u) - (l - median_day)))
                if score == 0 and (best is None or key < best[0]):
                    best = (key, days)
    if best is None:
        raise RuntimeError("no first-year PFS design reproduces the median and its SPSS CI")
    return best[1]


def _build_first_year(n, n_events, k_u, k_median, k_l, u, median_day, l) -> np.ndarray:
    days = np.empty(n_events, dtype=int)
    # events 1..k_u-1 on an exponential quantile scale up to ~u - 8 days
    q = np.arange(1, k_u) / (n + 1)
    shape = -np.log1p(-q)
    days[: k_u - 1] = np.round(35 + (u - 8 - 35) * (shape - shape[0]) / (shape[-1] - shape[0])).astype(int)
    days[k_u - 1] = u
    days[k_u: k_median - 1] = np.linspace(u, median_day, k_median - k_u + 1)[1:-1].round().astype(int)
    days[k_median - 1: k_median + 1] = median_day
    days[k_median + 1: k_l - 1] = np.linspace(median_day, l, k_l - k_median)[1:-1].round().astype(int)
    days[k_l - 1] = l
    days[k_l:] = l + 1 + np.arange(n_events - k_l)
    return np.sort(days)


def solve_pfs(targets: Targets, alive_days: np.ndarray):
    """PFS design: (event_days, censored_days); censored days are a subset of ``alive_days``."""
    n = targets.n
    year = int(12 * DAYS_PER_MONTH)
    two_years = int(24 * DAYS_PER_MONTH)
    first = _first_year_events(targets)
    at_risk = n - len(first)
    window = alive_days[(alive_days > year) & (alive_days <= two_years)]
    later = alive_days[alive_days > two_years]
    best = None
    for n_cens in range(1, min(5, len(window)) + 1):
        cens = window[np.linspace(0, len(window) - 1, n_cens).round().astype(int)]
        for n_events in range(5, at_risk - n_cens):
            for n_before in range(0, n_events + 1):
                # n_before events between 12 months and the first censoring, the rest spread to 24 months
                a = np.linspace(year + 10, cens[0] - 1, n_before + 2)[1:-1] if n_before else np.array([])
                b = np.linspace(cens[0], two_years - 5, n_events - n_before + 2)[1:-1]
                ev = np.concatenate((a, b)).round().astype(int)
                days = np.concatenate((first, ev, cens, np.full(at_risk - n_events - n_cens, 4000)))
                event = np.concatenate((np.ones(len(first) + len(ev)), np.zeros(at_risk - n_events)))
                times, d, s, se = km_steps(days, event)
                r24 = 100 * rate_at(times, s, 24)
                if miss(r24, targets.pfs_rate[24], 0.5) > 0:
                    continue
                key = (abs(r24 - targets.pfs_rate[24][0]), abs(n_before - (n_events - n_before) / 2), -n_cens)
                if best is None or key < best[0]:
                    best = (key, ev, cens)
    if best is None:
        raise RuntimeError("no PFS design reproduces the 2-year PFS rate")
    _, second_year, cens = best
    remaining = at_risk - len(second_year) - len(cens)
    # beyond 2 years: about a third stay progression-free (censored at their last contact)
    n_late_cens = min(len(later), max(1, remaining // 3))
    late_cens = later[np.linspace(len(later) // 3, len(later) - 1, n_late_cens).round().astype(int)]
    n_late_events = remaining - n_late_cens
    late_events = np.linspace(two_years + 20, 40 * DAYS_PER_MONTH, n_late_events).round().astype(int)
    events = np.sort(np.concatenate((first, second_year, late_events)))
    censored = np.sort(np.concatenate((cens, late_cens)))
    return events, censored


# --------------------------------------------------------------------------- pairs
@dataclass(frozen=True)
class Design:
    """62 template pairs, one per patient, in days from the first ablation.

    pfs_days, pfs_event  PFS time and flag (1 = progression or death)
    os_days, os_event    OS time and flag (1 = death); os_days is also the last contact
    """

    pfs_days: np.ndarray
    pfs_event: np.ndarray
    os_days: np.ndarray
    os_event: np.ndarray

    def __len__(self) -> int:
        return len(self.pfs_days)


def pair_template(pfs_events, pfs_censored, death_days, alive_days) -> Design:
    """Sorted pairing of the two marginal designs (raises when no valid pairing exists)."""
    alive_left = list(alive_days)
    for day in pfs_censored:  # each PFS-censored patient is one alive patient, same day
        alive_left.remove(day)
    os_days = np.concatenate((death_days, alive_left))
    os_event = np.concatenate((np.ones(len(death_days), int), np.zeros(len(alive_left), int)))
    order = np.argsort(os_days, kind="stable")
    os_days, os_event = os_days[order], os_event[order]
    pfs_events = np.sort(pfs_events)
    if len(pfs_events) != len(os_days) or np.any(pfs_events > os_days):
        raise RuntimeError("PFS and OS designs admit no pairing with PFS <= OS")
    return Design(
        pfs_days=np.concatenate((pfs_events, pfs_censored)).astype(int),
        pfs_event=np.concatenate((np.ones(len(pfs_events), int), np.zeros(len(pfs_censored), int))),
        os_days=np.concatenate((os_days, pfs_censored)).astype(int),
        os_event=np.concatenate((os_event, np.zeros(len(pfs_censored), int))),
    )


@lru_cache(maxsize=4)
def _solve_cached(published_text: str) -> Design:
    targets = targets_from_published(yaml.safe_load(published_text))
    death, alive = solve_os(targets)
    pfs_events, pfs_censored = solve_pfs(targets, alive)
    return pair_template(pfs_events, pfs_censored, death, alive)


def solve_design(published_path: str | Path | None = None) -> Design:
    """The calibrated design solved from ``published_results.yml`` (deterministic, cached)."""
    return _solve_cached(Path(published_path or PUBLISHED_FILE).read_text(encoding="utf-8"))
