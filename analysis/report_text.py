"""Inline text for the documents: every number in the prose, formatted from the results dict.

``InlineText(results).pfs_median`` -> "11.4 months (95% CI 10.1–12.8)". Formatting
goes through ``analysis.tables.theme``; nothing here computes a statistic, and
nothing is typed: labels come from the plan section of the results.
"""

from __future__ import annotations

from datetime import date

from analysis.tables import theme
from analysis.tables.builders import MEDIAN_CI_NAMES

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
CITATION = {"spss": "[@klein2003]", "brookmeyer_crowley": "[@brookmeyer1982]"}


def _month_year(iso: str) -> str:
    day = date.fromisoformat(iso[:10])
    return f"{MONTHS[day.month - 1]} {day.year}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class InlineText:
    """Attribute access gives formatted text; see each property's docstring for its source."""

    def __init__(self, results: dict):
        self.r = results

    # ------------------------------------------------------------ cohort

    @property
    def n_patients(self) -> str:
        return str(self.r["n_patients"])

    @property
    def n_lesions(self) -> str:
        return str(self.r["n_lesions"])

    @property
    def n_sessions(self) -> str:
        return str(self.r["n_sessions"])

    def _table1(self, block: str, variable: str) -> dict:
        return next(row for row in self.r["table1"][block] if row["variable"] == variable)

    @property
    def max_pos(self) -> str:
        """Largest number of POs in one patient (Table 1's POs-per-patient levels)."""
        levels = [int(lvl["level"]) for lvl in self._table1("patient", "n_pos")["levels"] if lvl["count"]]
        return str(max(levels))

    @property
    def mean_diameter(self) -> str:
        return theme.number(self._table1("lesion", "diameter_cm")["mean"], theme.DECIMALS["continuous"])

    @property
    def mean_age(self) -> str:
        return theme.number(self._table1("patient", "age")["mean"], theme.DECIMALS["continuous"])

    @property
    def sex_counts(self) -> str:
        counts = {lvl["level"]: lvl["count"] for lvl in self._table1("patient", "sex")["levels"]}
        return ", ".join(f"{n} {level.lower()}" for level, n in counts.items())

    @property
    def enrolment_first(self) -> str:
        return _month_year(self.r["enrolment"]["first_ablation"])

    @property
    def enrolment_last(self) -> str:
        return _month_year(self.r["enrolment"]["last_ablation"])

    # ------------------------------------------------------------ plan rules

    @property
    def metachronous_cut(self) -> str:
        return f"{self.r['plan']['derived']['po_timing']['metachronous_after_months']:g}"

    @property
    def major_classes(self) -> str:
        return _join(self.r["plan"]["major_classes"])

    @property
    def minor_classes(self) -> str:
        return _join(self.r["plan"]["minor_classes"])

    # ------------------------------------------------------------ outcomes

    @staticmethod
    def _proportion(item: dict) -> str:
        """'96.8% (60/62)'."""
        return f"{theme.percent(item['proportion'], sign=True)} ({item['count']}/{item['denominator']})"

    @property
    def technical_success(self) -> str:
        return self._proportion(self.r["technical_success"])

    @property
    def technical_efficacy(self) -> str:
        return self._proportion(self.r["technical_efficacy"])

    @property
    def major_complications(self) -> str:
        return self._proportion(self.r["major_complications"])

    @property
    def followup(self) -> str:
        """Reverse Kaplan-Meier median with the range of follow-up among patients alive at last contact."""
        f = self.r["followup"]
        lo, hi = f["range"]
        return (f"{theme.months(f['median'])} months (range {theme.months(lo)}{theme.CI_DASH}"
                f"{theme.months(hi)} months in the {f['n_alive']} patients alive at last contact)")

    def _median(self, endpoint: str) -> str:
        item = self.r[endpoint]
        if item["median"] is None:
            return "not reached"
        lo, hi = item["median_ci"]
        return (f"{theme.months(item['median'])} months ({theme.confidence_label(self.r['plan']['alpha'])} "
                f"{theme.months(lo)}{theme.CI_DASH}{theme.months(hi)})")

    def _rate(self, endpoint: str, months: int) -> str:
        return theme.percent(self.r[endpoint]["rates"][str(months)]["estimate"], sign=True)

    def _events(self, endpoint: str, what: str) -> str:
        item = self.r[endpoint]
        return f"{what} in {item['events']} of {item['n']} patients."

    def _significant(self, endpoint: str) -> list[tuple[str, str, list[str], float]]:
        """(factor, label, levels best first, P) for every factor the results decided is significant
        (``results['decisions']``: made once in ``analysis.results.decisions``)."""
        return [(f["factor"], theme.lower_first(f["label"]), f["levels_best_first"], f["p"])
                for f in self.r["decisions"]["endpoints"][endpoint]["significant_factors"]]

    def _factors(self, endpoint: str) -> str:
        """A sentence naming the factors with log-rank P below alpha, best level first."""
        alpha = self.r["plan"]["alpha"]
        label = self.r[endpoint]["label"]
        found = []
        for _name, factor_label, levels, p in self._significant(endpoint):
            contrast = " vs ".join(levels) if len(levels) == 2 else f"most favourable: {levels[0]}"
            found.append(f"{factor_label} ({contrast}; {theme.p_text(p)})")
        if not found:
            return f"No factor was associated with {label.lower()} by the log-rank test (all P ≥ {alpha:g})."
        return f"Longer {label.lower()} was associated with {_join(found)} by the log-rank test."

    @property
    def prognostic_summary(self) -> str:
        """One sentence for the conclusions: the factors associated with both longer PFS and longer OS."""
        every = set(self.r["decisions"]["factors_all_endpoints"])
        first = self.r["plan"]["endpoints"][0]
        both = [f"{label} ({levels[0]})" for name, label, levels, _p in self._significant(first) if name in every]
        if not both:
            return "No factor was associated with both longer PFS and longer OS."
        verb = "was" if len(both) == 1 else "were"
        text = f"{_join(both)} {verb} associated with longer PFS and OS."
        return text[:1].upper() + text[1:]

    @property
    def most_common_complication(self) -> str:
        """The complication type recorded in most patients, with its count: 'pneumothorax (34/62 patients)'."""
        by_type = self.r["complications"]["by_type"]
        name, item = max(by_type.items(), key=lambda kv: (kv[1]["patients"]["count"], kv[0]))
        patients = item["patients"]
        return f"{name.replace('_', ' ')} ({patients['count']}/{patients['denominator']} patients)"

    @property
    def pfs_events_short(self) -> str:
        item = self.r["pfs"]
        return f"{item['events']} of {item['n']} patients progressed or died"

    pfs_median = property(lambda self: self._median("pfs"))
    os_median = property(lambda self: self._median("os"))
    pfs_rate_12 = property(lambda self: self._rate("pfs", 12))
    pfs_rate_24 = property(lambda self: self._rate("pfs", 24))
    os_rate_12 = property(lambda self: self._rate("os", 12))
    os_rate_24 = property(lambda self: self._rate("os", 24))
    os_rate_36 = property(lambda self: self._rate("os", 36))
    pfs_events = property(lambda self: self._events("pfs", "Progression or death occurred"))
    os_events = property(lambda self: self._events("os", "Death occurred"))
    pfs_factors = property(lambda self: self._factors("pfs"))
    os_factors = property(lambda self: self._factors("os"))

    # ------------------------------------------------------------ methods and supplement

    @property
    def statistical_methods(self) -> str:
        """The statistical-analysis paragraph, generated from the plan and the software that ran."""
        plan, sw = self.r["plan"], self.r["software"]
        method = plan["median_ci_method"]
        rule = plan["selection_rule"]
        level = theme.confidence_percent(plan["alpha"])
        return (
            "Categorical variables are given as n (%) and continuous variables as mean ± standard deviation "
            f"or median (interquartile range); proportions are given with exact Clopper-Pearson {level} confidence "
            "intervals (CIs) [@clopper1934]. Survival was estimated by the Kaplan-Meier method [@kaplan1958] "
            f"with Greenwood standard errors and {plan['ci_transform']}-transformed pointwise {level} CIs. "
            f"The {level} CI of the median survival is the {MEDIAN_CI_NAMES[method]} {CITATION[method]}. "
            "Median follow-up was estimated by the reverse Kaplan-Meier method [@schemper1996]. Survival "
            "was compared between groups by the log-rank test [@mantel1966], with a test for trend for "
            "ordered factors. Hazard ratios (HRs) were estimated by Cox proportional-hazards regression "
            f"[@cox1972] with {plan['ties'].capitalize()}'s method for tied event times; factors with a "
            f"univariable P below {rule['threshold']:g} entered the multivariable model. Proportional "
            "hazards were checked with scaled Schoenfeld residuals [@grambsch1994], and the number of events "
            f"per variable was reported against a minimum of {plan['min_events_per_variable']} "
            f"[@peduzzi1995]. Two-sided P < {plan['alpha']:g} was considered significant. Analyses used "
            f"Python {sw['python']}, pandas {sw['pandas']}, lifelines {sw['lifelines']} "
            f"[@davidsonpilon2019], statsmodels {sw['statsmodels']} [@seabold2010] and tableone "
            f"{sw['tableone']} [@pollard2018]."
        )

    @property
    def data_directory(self) -> str:
        return f"`{self.r['data']['directory']}`"

    @property
    def corrections_summary(self) -> str:
        corrections = self.r["data"].get("corrections") or []
        if not corrections:
            return "No corrections were applied to the raw data files."
        return (f"{len(corrections)} correction(s) from the corrections ledger were applied on top of the raw "
                "files when they were loaded; the raw files themselves were not changed.")

    @property
    def median_ci_methods(self) -> str:
        return (f"The manuscript reports the {MEDIAN_CI_NAMES[self.r['plan']['median_ci_method']]}, as "
                "chosen in the analysis plan.")

    @property
    def ph_summary(self) -> str:
        parts = []
        for endpoint in self.r["plan"]["endpoints"]:
            cox = self.r["cox"][endpoint]
            label = self.r[endpoint]["label"]
            if not cox.get("selected"):
                parts.append(f"For {label.lower()} no factor met the selection rule, so there is no multivariable model.")
                continue
            glob = (cox.get("ph_test") or {}).get("global") or {}
            parts.append(f"For {label.lower()}, the global test of proportional hazards gave "
                         f"{theme.p_text(glob.get('p'))} and the model had {theme.number(cox['epv'], 1)} "
                         "events per variable.")
        return " ".join(parts)
