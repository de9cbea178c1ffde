"""Inline text for the documents: every number in the prose, formatted from the results dict.

``InlineText(results).pfs_median`` -> "11.4 months (95% CI 10.1–12.8)". Formatting
goes through ``analysis.tables.theme``; nothing here computes a statistic, and
nothing is typed: labels come from the plan section of the results.
"""

from __future__ import annotations

from datetime import date

from analysis import safe_text
from analysis.tables import theme
from analysis.tables.builders import MEDIAN_CI_NAMES, complication_label

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
CITATION = {"spss": "[@klein2003]", "brookmeyer_crowley": "[@brookmeyer1982]"}


def _month_year(iso: str) -> str:
    day = date.fromisoformat(iso[:10])
    return f"{MONTHS[day.month - 1]} {day.year}"


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    """'1 correction', '2 corrections', '0 patients'."""
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def landmark_label(time: float, unit: str = "months") -> str:
    """'1-year' for 12 months (any whole number of years), '18-month' otherwise; '5-week' for other units."""
    if unit == "months":
        return f"{time / 12:g}-year" if time % 12 == 0 else f"{time:g}-month"
    return f"{time:g}-{unit.removesuffix('s')}"


def landmarks_label(times: list[float], unit: str = "months") -> str:
    """'1-, 2- and 3-year', '6- and 18-month', '6-month and 1-year': the landmarks as a sentence names them
    (one shared unit word at the end when every landmark takes the same one)."""
    labels = [landmark_label(t, unit) for t in times]
    words = {label.split("-", 1)[1] for label in labels}
    if len(labels) > 1 and len(words) == 1:
        return _join([label.split("-", 1)[0] + "-" for label in labels[:-1]] + [labels[-1]])
    return _join(labels)


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

    # ------------------------------------------------------------ follow-up and survival

    @property
    def ci_level(self) -> str:
        """'95%': the confidence level of every interval, from the plan's alpha."""
        return theme.confidence_percent(self.r["plan"]["alpha"])

    @property
    def followup_sentence(self) -> str:
        """The follow-up sentence, true for any cohort: reverse Kaplan-Meier median with the range of
        follow-up among the patients alive at last contact, or why the median cannot be given."""
        f = self.r["followup"]
        alive = int(f.get("n_alive") or 0)
        if alive == 0:
            plain = f.get("plain_median_all")
            observed = (f" The median time from the first ablation to death was {theme.months(plain)} months."
                        if plain is not None else "")
            return ("The median follow-up could not be estimated by the reverse Kaplan-Meier method because no "
                    f"patient was alive at last contact.{observed}")
        lo, hi = f["range"]
        where = f"in the {_plural(alive, 'patient')} alive at last contact"
        if f.get("median") is None:
            return (f"The median follow-up was not reached by the reverse Kaplan-Meier method (follow-up "
                    f"{theme.months(lo)}{theme.CI_DASH}{theme.months(hi)} months {where}).")
        span = (f"{theme.months(lo)} months" if theme.months(lo) == theme.months(hi)
                else f"range {theme.months(lo)}{theme.CI_DASH}{theme.months(hi)} months")
        return f"The median follow-up was {theme.months(f['median'])} months ({span} {where})."

    # ------------------------------------------------------------ endpoints and landmarks of the plan

    def _endpoints(self) -> list[str]:
        """The plan's endpoints, in its order."""
        return list(self.r["plan"]["endpoints"])

    def short(self, endpoint: str) -> str:
        """'PFS': the endpoint's abbreviation when the results carry one, else its key in capitals."""
        return self.r[endpoint].get("abbreviation") or endpoint.upper()

    def _shorts(self, endpoints: list[str] | None = None) -> list[str]:
        return [self.short(e) for e in (self._endpoints() if endpoints is None else endpoints)]

    def _event_words(self, endpoint: str) -> tuple[str, str]:
        """(noun, verb): ('progression or death', 'progressed or died'), or a neutral wording for an
        endpoint this module has no words for."""
        return EVENT_WORDS.get(endpoint, (f"{self.short(endpoint)} event", f"had a {self.short(endpoint)} event"))

    def _landmarks(self, endpoint: str) -> list[float]:
        """The plan's landmarks (a hand-made results dict without them: the times its rates hold)."""
        times = self.r["plan"].get("landmarks")
        if times is None:
            times = sorted(float(key) for key in self.r[endpoint].get("rates", {}))
        return [float(t) for t in times]

    def _time_unit(self) -> str:
        return self.r["plan"].get("time_unit") or "months"

    def rates_phrase(self, endpoint: str) -> str:
        """'1-, 2- and 3-year PFS rates of 43.5%, 10.2% and 3.8%' at the plan's landmarks ('' when it has none)."""
        times = self._landmarks(endpoint)
        if not times:
            return ""
        noun = "rate" if len(times) == 1 else "rates"
        values = _join([self.rate(endpoint, t) for t in times])
        return f"{landmarks_label(times, self._time_unit())} {self.short(endpoint)} {noun} of {values}"

    def rates_sentence(self, endpoint: str) -> str:
        """'The 1- and 2-year PFS rates were 43.5% and 10.2%' (no full stop; '' when the plan has no landmarks)."""
        times = self._landmarks(endpoint)
        if not times:
            return ""
        verb, noun = ("was", "rate") if len(times) == 1 else ("were", "rates")
        values = _join([self.rate(endpoint, t) for t in times])
        return f"The {landmarks_label(times, self._time_unit())} {self.short(endpoint)} {noun} {verb} {values}"

    def survival_sentence(self, endpoint: str) -> str:
        """'The median PFS was 11.4 months (95% CI 10.1–12.8), with 1-, 2- and 3-year PFS rates of ...'
        (no full stop, so that a document may add a cross-reference)."""
        rates = self.rates_phrase(endpoint)
        median = f"The median {self.short(endpoint)} was {self.median(endpoint)}"
        return f"{median}, with {rates}" if rates else median

    def median(self, endpoint: str) -> str:
        item = self.r[endpoint]
        if item["median"] is None:
            if not item.get("events"):
                return "not reached (no events)"
            return "not reached"
        lo, hi = item["median_ci"]
        if lo is None and hi is None:
            return f"{theme.months(item['median'])} months ({self.ci_level} CI not estimable)"
        # A missing upper limit is printed as NR: the confidence band had not crossed 0.5.
        lo_text = theme.months(lo) if lo is not None else "not estimable"
        return (f"{theme.months(item['median'])} months ({self.ci_level} CI "
                f"{lo_text}{theme.CI_DASH}{theme.months(hi)})")

    def rate(self, endpoint: str, time: float) -> str:
        """'43.5%', or why the rate cannot be given (no patient followed that long)."""
        rates = self.r[endpoint].get("rates") or {}
        rate = rates.get(f"{time:g}")
        if rate is None or rate.get("estimate") is None:
            return f"not estimable (no patient followed to {time:g} {self._time_unit()})"
        return theme.percent(rate["estimate"], sign=True)

    def _events(self, endpoint: str, what: str) -> str:
        item = self.r[endpoint]
        n = int(item["n"])
        return f"{what} in {item['events']} of {_plural(n, 'patient')}."

    # ------------------------------------------------------------ factors (prose around the decisions)

    def _min_level_size(self) -> int:
        return int(self.r["plan"].get("min_level_size") or 1)

    def _significant(self, endpoint: str) -> list[tuple[str, str, list[str], float]]:
        """(factor, label, levels best first, P) for every factor the results decided is significant
        (``results['decisions']``: made once in ``analysis.results.decisions``)."""
        return [(f["factor"], theme.lower_first(f["label"]), f["levels_best_first"], f["p"])
                for f in self.r["decisions"]["endpoints"][endpoint]["significant_factors"]]

    def _untested(self, endpoint: str) -> list[str]:
        """Labels of the plan factors whose log-rank test could not be done (no P)."""
        out = []
        for name in self.r["plan"]["logrank_factors"]:
            test = self.r["logrank"][endpoint].get(name) or {}
            if test.get("p") is None:
                out.append(theme.lower_first(test.get("label", name)))
        return out

    @staticmethod
    def _level(level: str) -> str:
        return theme.lower_first(level)

    def _factors(self, endpoint: str) -> str:
        """The log-rank sentence for ``endpoint``: only what the tests that were done showed."""
        alpha = self.r["plan"]["alpha"]
        label = self.r[endpoint]["label"].lower()
        item = self.r[endpoint]
        if not item.get("events"):
            noun = self._event_words(endpoint)[0]
            return (f"No {noun} occurred, so no factor could be tested for an association with {label}.")
        found = []
        for _name, factor_label, levels, p in self._significant(endpoint):
            levels = [self._level(level) for level in levels]
            contrast = " vs ".join(levels) if len(levels) == 2 else f"most favourable: {levels[0]}"
            found.append(f"{factor_label} ({contrast}; {theme.p_text(p)})")
        untested = self._untested(endpoint)
        tested = len(self.r["plan"]["logrank_factors"]) - len(untested)
        if found:
            text = f"Longer {label} was associated with {_join(found)} by the log-rank test."
        elif tested:
            text = (f"No factor was associated with {label} by the log-rank test "
                    f"(P ≥ {alpha:g} for {'the' if tested > 1 else ''} {_plural(tested, 'factor')} tested)."
                    .replace("for  ", "for "))
        else:
            text = f"No factor could be tested for an association with {label}."
        small = [f"{theme.lower_first(f['label'])} ({theme.p_text(f['p'])}; "
                 f"level {self._level(f['level'])}: {_plural(f['n'], 'patient')})"
                 for f in self.r["decisions"]["endpoints"][endpoint].get("small_level_factors", [])]
        if small:
            text += (f" The difference by {_join(small)} rests on a level with fewer than "
                     f"{_plural(self._min_level_size(), 'patient')}, the minimum of the analysis plan, "
                     "and is not taken as an association.")
        if untested and tested:
            text += f" No test was possible for {_join(untested)} (a single level with patients)."
        return text

    @property
    def trend_summary(self) -> str:
        """The log-rank test for trend of every ordered factor, for every endpoint ('' when none)."""
        parts = []
        for name, factor in self.r["plan"]["factors"].items():
            if not factor.get("ordered") or name not in self.r["plan"]["logrank_factors"]:
                continue
            results = []
            for endpoint in self._endpoints():
                trend = (self.r["logrank"].get(endpoint, {}).get(name) or {}).get("trend")
                if trend and trend.get("p") is not None:
                    results.append(f"{theme.p_text(trend['p'])} for {self.short(endpoint)}")
            if results:
                parts.append(f"The log-rank test for trend across the ordered levels of "
                             f"{theme.lower_first(factor['label'])} ({', '.join(self._level(l) for l in factor['levels'])}) "
                             f"gave {_join(results)}.")
        return " ".join(parts)

    def _both(self) -> list[tuple[str, str, str]]:
        """(factor, label, best level) for the factors significant for every endpoint (``results['decisions']``)."""
        every = set(self.r["decisions"]["factors_all_endpoints"])
        first = self.r["plan"]["endpoints"][0]
        return [(name, label, levels[0]) for name, label, levels, _p in self._significant(first) if name in every]

    @property
    def prognostic_summary(self) -> str:
        """One sentence for the conclusions: the factors associated with a longer survival for every endpoint
        of the plan ('... associated with longer PFS and OS')."""
        endpoints = self._endpoints()
        no_events = [self.r[e]["label"].lower() for e in endpoints if not self.r[e].get("events")]
        if no_events:
            return (f"No factor could be tested for an association with {_join(no_events)}, for which no "
                    "event occurred.")
        both = [f"{label} ({self._level(level)})" for _name, label, level in self._both()]
        if not both:
            every = {1: "", 2: "both "}.get(len(endpoints), "each of ")
            return f"No factor was associated with {every}{_join(['longer ' + s for s in self._shorts()])}."
        verb = "was" if len(both) == 1 else "were"
        return _capitalise(f"{_join(both)} {verb} associated with longer {_join(self._shorts())}.")

    @property
    def discussion_prognostic(self) -> str:
        """The Discussion's paragraph on prognostic factors, built from the results.

        A comparison with the original report (Hou et al.) is made only for the synthetic twin
        of that study, from the reproduction rows of the results; any other cohort gets no
        sentence about another study's findings. Markdown (it cites): the labels it prints are escaped.
        """
        text = safe_text.markdown(self.prognostic_summary, limit=0)
        both = self._both()
        tested = all(self.r[e].get("events") for e in self._endpoints())
        if not both and tested:
            text += (" The absence of an association is not evidence of no effect: the confidence intervals of "
                     "the hazard ratios show which effects these data cannot exclude.")
        if self.r.get("synthetic"):
            rows = [row for row in self.r.get("reproduction") or [] if str(row.get("id", "")).startswith("logrank_")]
            if rows:
                agree = sum(1 for row in rows if row.get("match"))
                if agree == len(rows):
                    text += (f" The factors associated with {safe_text.markdown(_join(self._shorts()))} by the "
                             "log-rank test are those of the "
                             "original report [@hou2025], which this synthetic cohort was generated to reproduce; "
                             "there the stage and the treatment of the primary tumour were read as pointing to the "
                             "biology and control of the primary tumour rather than the lung lesions.")
                else:
                    text += (f" The log-rank results agreed with the original report [@hou2025] for {agree} of "
                             f"{len(rows)} factor tests (supplementary material).")
        return text

    @property
    def limitations(self) -> str:
        """The limitations sentence; the size remark follows the events per variable of the models."""
        min_epv = self.r["plan"].get("min_events_per_variable")
        low = []
        for endpoint in self._endpoints():
            epv = (self.r["cox"].get(endpoint) or {}).get("epv")
            if epv is not None and min_epv is not None and epv < float(min_epv):
                low.append(f"{theme.number(epv, 1)} events per variable in the multivariable model of "
                           f"{self.short(endpoint)}")
        size = (f"few events for the number of factors ({_join(low)}, below the minimum of {min_epv:g}), "
                if low else "")
        return ("This study has limitations: its retrospective single-centre design, selection bias inherent to "
                f"the choice of patients for ablation, {size}and the absence of a comparison group.")

    @property
    def most_common_complication(self) -> str:
        """The complication type recorded in most patients, with its count: 'pneumothorax (34/62 patients)'."""
        by_type = {k: v for k, v in self.r["complications"]["by_type"].items() if v["patients"]["count"]}
        if not by_type:  # complications.csv may have no rows (the contract allows it)
            return "none (no complication was recorded)"
        name, item = max(by_type.items(), key=lambda kv: (kv[1]["patients"]["count"], kv[0]))
        patients = item["patients"]
        return f"{complication_label(name)} ({patients['count']}/{patients['denominator']} patients)"

    @property
    def discussion_opening(self) -> str:
        """The Discussion's first paragraph: the technical and safety results as they are, with no
        judgement ('reliable', 'common') that would need a threshold the plan does not set."""
        by_type = self.r["complications"]["by_type"]
        any_recorded = by_type and any(item["patients"]["count"] for item in by_type.values())
        frequent = (f"; the most frequent complication was {self.most_common_complication}" if any_recorded
                    else "; no complication of any grade was recorded")
        first = self._endpoints()[0]   # the plan's first endpoint: the broadest event
        verb = self._event_words(first)[1]
        progression = (f"During follow-up, {self._events_short(first)}." if self.r[first]["events"]
                       else f"No patient {verb} during follow-up.")
        return (f"In this cohort, thermal ablation of POs from HCC achieved technical success in "
                f"{self.technical_success} of patients and technical efficacy in {self.technical_efficacy}. "
                f"Major complications occurred in {self.major_complications} of patients{frequent}. {progression}")

    def _events_short(self, endpoint: str) -> str:
        """'40 of 62 patients progressed or died'."""
        item = self.r[endpoint]
        return f"{item['events']} of {_plural(int(item['n']), 'patient')} {self._event_words(endpoint)[1]}"

    ENDPOINT_VALUES = ("median", "events", "events_short", "factors", "survival", "rates")

    def names(self) -> list[str]:
        """Every inline value this results dict gives: the properties, and for each endpoint of the plan
        ``<endpoint>_<value>`` (``ENDPOINT_VALUES``) and ``<endpoint>_rate_<landmark>`` (what ``diff`` compares)."""
        out = [name for name in dir(type(self)) if not name.startswith("_")
               and isinstance(getattr(type(self), name), property)]
        for endpoint in self._endpoints():
            out += [f"{endpoint}_{what}" for what in self.ENDPOINT_VALUES]
            out += [f"{endpoint}_rate_{time:g}" for time in self._landmarks(endpoint)]
        return sorted(out)

    def __getattr__(self, name: str) -> str:
        """``<endpoint>_median``, ``_events``, ``_events_short``, ``_factors``, ``_survival`` (:meth:`survival_sentence`),
        ``_rates`` (:meth:`rates_sentence`), ``_rate_<time>`` for every endpoint of the plan (``pfs_median``,
        ``os_rate_36``): the names follow the plan, none is typed. Plain names, so that the documents'
        inline code stays ``R.t.<name>`` (what the STROBE checklist reads)."""
        if name.startswith("_") or name == "r":
            raise AttributeError(name)
        for endpoint in self._endpoints():
            what = name.removeprefix(f"{endpoint}_")
            if what == name:
                continue
            if what == "median":
                return self.median(endpoint)
            if what == "events":
                return self._events(endpoint, f"{_capitalise(self._event_words(endpoint)[0])} occurred")
            if what == "factors":
                return self._factors(endpoint)
            if what == "events_short":
                return self._events_short(endpoint)
            if what == "survival":
                return self.survival_sentence(endpoint)
            if what == "rates":
                return self.rates_sentence(endpoint)
            if what.startswith("rate_"):
                try:
                    return self.rate(endpoint, float(what.removeprefix("rate_")))
                except ValueError:
                    pass
        raise AttributeError(f"{type(self).__name__} has no value {name!r} (endpoints of the plan: "
                             f"{', '.join(self._endpoints())})")

    # ------------------------------------------------------------ methods and supplement

    @property
    def statistical_methods(self) -> str:
        """The statistical-analysis paragraph, generated from the plan and the software that ran."""
        plan, sw = self.r["plan"], self.r["software"]
        method = plan["median_ci_method"]
        rule = plan["selection_rule"]
        level = self.ci_level
        # Cox models and cox.zph are the project's own code, following R's survival package
        # (analysis/stats/efron.py; checked against R in tests/test_vs_r.py): no library is cited for them.
        software = [f"Python {sw['python']}"] + [
            f"{name} {sw[name]}" + (f" {SOFTWARE_CITATION[name]}" if name in SOFTWARE_CITATION else "")
            for name in ("pandas", "numpy", "scipy", "statsmodels", "tableone") if sw.get(name)
        ]
        min_size = plan.get("min_level_size")
        min_size_text = (f" An association was not claimed from a factor level with fewer than "
                         f"{_plural(int(min_size), 'patient')}." if min_size and int(min_size) > 1 else "")
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
            f"[@peduzzi1995]. Two-sided P < {plan['alpha']:g} was considered significant.{min_size_text} "
            f"Analyses used {_join(software)}."
        )

    @property
    def data_directory(self) -> str:
        """The data directory as the project names it: relative inside the project, else only its
        folder name (an absolute path tells a reader nothing and reveals the machine's layout)."""
        directory = str(self.r["data"]["directory"])
        if directory.startswith("/") or (len(directory) > 1 and directory[1] == ":"):
            directory = directory.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] + " (outside the project folder)"
        return f"`{directory}`"

    @property
    def corrections_summary(self) -> str:
        corrections = self.r["data"].get("corrections") or []
        if not corrections:
            return "No corrections were applied to the raw data files."
        verb = "was" if len(corrections) == 1 else "were"
        return (f"{_capitalise(_plural(len(corrections), 'correction'))} from the corrections ledger {verb} "
                "applied on top of the raw files when they were loaded; the raw files themselves were not changed.")

    @property
    def median_ci_methods(self) -> str:
        return (f"The manuscript reports the {MEDIAN_CI_NAMES[self.r['plan']['median_ci_method']]}, as "
                "chosen in the analysis plan.")

    def _term_label(self, term: str) -> str:
        """'pos_count[2]' -> 'number of POs (2 vs 1)': the publication label of a Cox term."""
        name, bracket, level = term.partition("[")
        level = level.rstrip("]")
        factor = self.r["plan"]["factors"].get(name)
        if not factor:
            return term
        if not bracket:  # cox.zph tests a whole factor ('pos_count')
            return theme.lower_first(factor["label"])
        return f"{theme.lower_first(factor['label'])} ({self._level(level)} vs {self._level(factor['reference'])})"

    def _ph_failures(self, endpoint: str) -> list[str]:
        """'radical treatment ... in the univariable model (P = 0.021)' for every term failing the PH test."""
        alpha = self.r["plan"]["alpha"]
        cox = self.r["cox"][endpoint]
        out = []
        ep = self.short(endpoint)
        univariable = cox.get("univariable_models") or {}
        # plan order (a results file read back has its keys sorted)
        order = [n for n in self.r["plan"].get("cox_candidates", []) if n in univariable]
        order += sorted(n for n in univariable if n not in order)
        models = [(f"univariable {ep} model", univariable[n].get("ph_test")) for n in order]
        models.append((f"multivariable {ep} model", cox.get("ph_test")))
        for where, ph in models:
            if not ph:
                continue
            terms = ph.get("terms") or {}
            failing = [(t, v["p"]) for t, v in sorted(terms.items()) if v.get("p") is not None and v["p"] < alpha]
            glob = (ph.get("global") or {}).get("p")
            if not failing and glob is not None and glob < alpha:
                out.append(f"the {where} as a whole (global {theme.p_text(glob)})")
            for term, p in failing:
                out.append(f"{self._term_label(term)} in the {where} ({theme.p_text(p)})")
        return out

    @property
    def ph_residuals_sentence(self) -> str:
        """Which terms the residual figure shows (one panel per term failing cox.zph), or that no term failed.

        (Follows the documents' own "@fig-ph-residuals shows ...": a cross-reference in computed text
        would be escaped as inert text.)"""
        alpha = self.r["plan"]["alpha"]
        panels = [(e, p) for e in self.r["plan"]["endpoints"] for p in self.r["cox"][e].get("ph_residuals") or []]
        if not panels:
            return (f"No term of any Cox model failed the test (all P \u2265 {alpha:g}), "
                    "so the figure has no residual panel.")
        listed = [f"{self._term_label(p['factor'])} in the {p['model']} {e.upper()} model ({theme.p_text(p['p'])})"
                  for e, p in panels]
        return (f"These were the {len(panels)} term{'s' if len(panels) != 1 else ''} with P < {alpha:g}: "
                f"{_join(listed)}. "
                "A smooth that departs from the horizontal line at the Cox coefficient shows a hazard ratio "
                "that changes over follow-up.")

    @property
    def ph_summary(self) -> str:
        """Which terms fail the proportional-hazards test (per model), the global tests and the EPV."""
        alpha = self.r["plan"]["alpha"]
        parts = []
        for endpoint in self.r["plan"]["endpoints"]:
            cox = self.r["cox"][endpoint]
            label = self.r[endpoint]["label"].lower()
            if not self.r[endpoint].get("events"):
                parts.append(f"No event occurred for {label}, so no Cox model could be fitted.")
                continue
            failures = self._ph_failures(endpoint)
            if failures:
                parts.append(f"For {label}, the proportional-hazards test gave P < {alpha:g} for "
                             f"{_join(failures)}; the hazard ratio there is an average over follow-up.")
            else:
                parts.append(f"For {label}, no Cox model fitted failed the proportional-hazards test "
                             f"(all P ≥ {alpha:g}).")
            if not cox.get("selected"):
                parts.append(f"No factor entered a multivariable model of {label}.")
                continue
            glob = (cox.get("ph_test") or {}).get("global") or {}
            parts.append(f"The multivariable model of {label} had a global proportional-hazards test "
                         f"{theme.p_text(glob.get('p'))} and {theme.number(cox['epv'], 1)} events per variable.")
        return " ".join(parts)

    @property
    def ph_results_sentence(self) -> str:
        """For the Results text: the terms failing the PH test, or that none did."""
        endpoints = [e for e in self._endpoints() if self.r[e].get("events")]
        if not endpoints:
            return "No Cox model could be fitted, and so no test of proportional hazards was possible."
        failures = [f for endpoint in endpoints for f in self._ph_failures(endpoint)]
        if not failures:
            fitted = _join(self._shorts(endpoints))
            return f"No Cox model of {fitted} failed the test of proportional hazards."
        return (f"The test of proportional hazards (scaled Schoenfeld residuals) gave P < {self.r['plan']['alpha']:g} "
                f"for {_join(failures)} (supplementary material).")


# The words for an endpoint's event (the plan names event dates, not words); an endpoint without an
# entry gets a neutral wording (InlineText._event_words).
EVENT_WORDS = {"pfs": ("progression or death", "progressed or died"), "os": ("death", "died")}
SOFTWARE_CITATION = {"lifelines": "[@davidsonpilon2019]", "statsmodels": "[@seabold2010]", "tableone": "[@pollard2018]"}
