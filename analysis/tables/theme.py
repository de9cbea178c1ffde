"""Journal number formatting: the one place where a number becomes text.

Every table (and the inline numbers of the documents, through the report
layer) formats with these functions, so a style change happens here once.

Style (house defaults, close to BMC / Vancouver-style journals):

=====================  =========================  ===============================
what                   function                   example
=====================  =========================  ===============================
P-value                ``p_value``                "<0.001", "0.049", "0.0497", "0.500"
P in running text      ``p_text``                 "P < 0.001", "P = 0.049"
confidence interval    ``ci``                     "(10.1–12.8)"  (en dash)
estimate with CI       ``estimate_ci``            "11.4 (10.1–12.8)"
hazard ratio           ``hr``                     "0.45"
percent                ``percent``                "43.5%" / "43.5"
count with percent     ``n_percent``              "13 (21.0)"
proportion with CI     ``n_of_n_percent_ci``      "13/62 (21.0%; 95% CI 11.7–33.2)"
months                 ``months``                 "11.4"
mean ± SD              ``mean_sd``                "61.0 ± 8.2"
median (IQR)           ``median_iqr``             "38.9 (8.0–80.7)"
not available          ``MISSING``                "–"
not reached            ``NOT_REACHED``            "NR"
=====================  =========================  ===============================
"""

from __future__ import annotations

import math

# ---- the style: change here, every table follows
DECIMALS = {
    "p": 3,  # P-values
    "hr": 2,  # hazard ratios and their CIs
    "percent": 1,  # percentages
    "months": 1,  # times
    "continuous": 1,  # means, SDs, medians of baseline variables
    "chi2": 2,  # test statistics
    "smd": 2,  # standardized mean differences
}
P_THRESHOLD = 0.001  # below this, P prints as "<0.001"
CI_DASH = "\u2013"  # en dash between CI limits
CI_OPEN, CI_CLOSE = "(", ")"
PLUS_MINUS = "\u00b1"
MISSING = "\u2013"  # a number that cannot be given
NOT_REACHED = "NR"
REFERENCE = "1 (reference)"


def _is_missing(value) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def number(value, decimals: int) -> str:
    """Fixed decimals, '–' when missing, infinity as '∞'."""
    if _is_missing(value):
        return MISSING
    value = float(value)
    if math.isinf(value):
        return "\u221e" if value > 0 else "-\u221e"
    text = f"{value:.{decimals}f}"
    if text.startswith("-") and float(text) == 0:  # no "-0.0"
        text = text[1:]
    return text


DEFAULT_ALPHA = 0.05  # the plan's alpha when a caller does not pass one
MAX_EXTRA_P_DIGITS = 4  # at most this many digits beyond DECIMALS["p"] to keep P off the wrong side of alpha


def _p_digits(p: float, alpha: float) -> int:
    """Decimals for P: DECIMALS["p"], plus one at a time while the rounded value would sit at
    alpha or on the other side of it than P itself (0.0497 -> 0.0497, not 0.050)."""
    decimals = DECIMALS["p"]
    if 0 < p < P_THRESHOLD:  # only when alpha <= P_THRESHOLD: at least one significant digit
        decimals = max(decimals, -math.floor(math.log10(p)))
    for extra in range(MAX_EXTRA_P_DIGITS + 1):
        shown = float(f"{p:.{decimals + extra}f}")  # the value as printed
        if (shown < alpha) == (p < alpha) and (shown != alpha or p == alpha):
            return decimals + extra
    return decimals + MAX_EXTRA_P_DIGITS


def p_value(p, alpha: float | None = None) -> str:
    """P for a table cell: "<0.001" below the threshold, else three decimals -- or more where three
    would print a value at or across ``alpha`` (default ``DEFAULT_ALPHA``): 0.0497 -> "0.0497"."""
    if _is_missing(p):
        return MISSING
    p = float(p)
    alpha = DEFAULT_ALPHA if alpha is None else float(alpha)
    if p < P_THRESHOLD < alpha:  # "<0.001" is then unambiguously below alpha
        return f"<{P_THRESHOLD:.{DECIMALS['p']}f}"
    return f"{p:.{_p_digits(p, alpha)}f}"


def p_text(p, alpha: float | None = None) -> str:
    """P for running text: "P < 0.001" / "P = 0.049" (same digits as ``p_value``)."""
    if _is_missing(p):
        return "P not available"
    text = p_value(p, alpha)
    return f"P < {text[1:]}" if text.startswith("<") else f"P = {text}"


def significant(p, alpha: float | None = None) -> bool | None:
    """Whether P is below alpha, decided on the value ``p_value`` prints (None when P is missing).

    The one place that calls a result significant: text that says "significant" and the P it
    prints can never disagree.
    """
    if _is_missing(p):
        return None
    alpha = DEFAULT_ALPHA if alpha is None else float(alpha)
    text = p_value(p, alpha)
    if text.startswith("<"):
        return True  # printed only when the threshold lies below alpha
    return float(text) < alpha


def ci(lo, hi, decimals: int) -> str:
    """'(lo–hi)'; a missing limit prints as 'NR' (upper limit not reached) or '–'."""
    lo_text = number(lo, decimals)
    hi_text = NOT_REACHED if _is_missing(hi) and not _is_missing(lo) else number(hi, decimals)
    return f"{CI_OPEN}{lo_text}{CI_DASH}{hi_text}{CI_CLOSE}"


def estimate_ci(estimate, lo, hi, decimals: int, missing_text: str = MISSING) -> str:
    """'11.4 (10.1–12.8)'; the estimate alone prints as ``missing_text`` when missing."""
    if _is_missing(estimate):
        if _is_missing(lo) and _is_missing(hi):
            return missing_text
        return f"{missing_text} {ci(lo, hi, decimals)}"
    if _is_missing(lo) and _is_missing(hi):
        return number(estimate, decimals)
    return f"{number(estimate, decimals)} {ci(lo, hi, decimals)}"


def hr(value) -> str:
    return number(value, DECIMALS["hr"])


def hr_ci(value, lo, hi) -> str:
    return estimate_ci(value, lo, hi, DECIMALS["hr"])


def months(value) -> str:
    return NOT_REACHED if _is_missing(value) else number(value, DECIMALS["months"])


def median_ci(median, lo, hi) -> str:
    """Median survival with CI in months; 'NR' when not reached."""
    return estimate_ci(median, lo, hi, DECIMALS["months"], missing_text=NOT_REACHED)


def percent(proportion, sign: bool = False) -> str:
    """A proportion (0-1) as a percentage: '43.5' or '43.5%'."""
    if _is_missing(proportion):
        return MISSING
    return number(100 * float(proportion), DECIMALS["percent"]) + ("%" if sign else "")


def percent_ci(proportion, lo, hi) -> str:
    """'43.5 (30.9–56.7)' from proportions (0-1)."""
    if _is_missing(proportion):
        return MISSING
    scaled = [None if _is_missing(v) else 100 * float(v) for v in (proportion, lo, hi)]
    return estimate_ci(*scaled, decimals=DECIMALS["percent"])


def n_percent(count, proportion) -> str:
    """'13 (21.0)': count with its percentage."""
    if _is_missing(count):
        return MISSING
    return f"{int(count)} {CI_OPEN}{percent(proportion)}{CI_CLOSE}"


def n_of_n(count, denominator) -> str:
    return MISSING if _is_missing(count) or _is_missing(denominator) else f"{int(count)}/{int(denominator)}"


def n_of_n_percent_ci(count, denominator, proportion, lo, hi, alpha: float = 0.05) -> str:
    """'13/62 (21.0%; 95% CI 11.7–33.2)' for running text (the level from the plan's ``alpha``)."""
    if _is_missing(denominator) or int(denominator) == 0:
        return MISSING
    d = DECIMALS["percent"]
    return (
        f"{int(count)}/{int(denominator)} ({percent(proportion)}%; {confidence_label(alpha)} "
        f"{number(100 * lo, d) if not _is_missing(lo) else MISSING}{CI_DASH}"
        f"{number(100 * hi, d) if not _is_missing(hi) else MISSING})"
    )


def mean_sd(mean, sd) -> str:
    d = DECIMALS["continuous"]
    if _is_missing(mean):
        return MISSING
    return f"{number(mean, d)} {PLUS_MINUS} {number(sd, d)}"


def median_iqr(median, q1, q3) -> str:
    d = DECIMALS["continuous"]
    if _is_missing(median):
        return MISSING
    return f"{number(median, d)} {ci(q1, q3, d)}"


def chi2(value) -> str:
    return number(value, DECIMALS["chi2"])


def smd(value) -> str:
    return number(value, DECIMALS["smd"])


# ---- labels in running text (figures' notes and the documents' sentences use these)


def lower_first(label: str | None) -> str:
    """A plan label inside a sentence: 'Initial BCLC stage' -> 'initial BCLC stage'. A first word with a
    capital after its first letter stays as it is: acronyms ('AFP', 'PO timing') and eponyms
    ('Child-Pugh class'), and so does a single capital letter ('T stage'). No label -> 'value'."""
    if not label:
        return "value"
    first = label.split(" ", 1)[0]
    keep = any(c.isupper() for c in first[1:]) or (len(first) == 1 and first.isupper())
    return label if keep else label[:1].lower() + label[1:]


def confidence_label(alpha: float) -> str:
    """'95% CI' for alpha = 0.05: the confidence level the plan sets, as printed."""
    return f"{confidence_percent(alpha)} CI"


def confidence_percent(alpha: float) -> str:
    """'95%' for alpha = 0.05, '90%' for 0.1, '99.5%' for 0.005."""
    return f"{100 * (1 - float(alpha)):.10g}%"
