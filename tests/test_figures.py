"""Publication figures: at-risk tables against the risk sets, what each figure prints,
text sizes, reproducible bytes, raster resolution, and image comparison (pytest-mpl).

Images are made from the results of the fixed example dataset
(tests/fixtures/example_data) with hand-set P values and Cox rows, so they change
neither when the shipped synthetic data are regenerated nor when the statistics
engine changes a P. Figures read the results only: every figure here is drawn
from a results dict, never from a cohort.
Baselines: ``pytest tests/test_figures.py --mpl-generate-path=tests/baseline_images``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from functools import lru_cache
import io
import math
from pathlib import Path
from xml.etree import ElementTree

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Annotation, Text
from PIL import Image
from pypdf import PdfReader

from analysis.data import load_cohort
from analysis.figures import (figure_names, flow_figure, forest_figure, km_at_risk_table, km_figure, png_bytes,
                              save_figure, write_all_figures)
from analysis.figures import style
from analysis.figures.flow import flow_boxes
from analysis.figures.forest import forest_rows, hr_text
from analysis.figures.km import AT_RISK_AXES_LABEL, MAIN_AXES_LABEL
from analysis.plan import load_plan
from analysis.results import compute_results, km_figure_panel, time_ticks
from analysis.stats.km import km_fit
from analysis.tables import theme

EXAMPLE_DATA = Path(__file__).parent / "fixtures" / "example_data"
BASELINES = "baseline_images"
# 2 RMS (of 255) absorbs anti-aliasing noise only: a moved label, a changed number
# or a different line style is well above it.
MPL = dict(baseline_dir=BASELINES, style="default", tolerance=2)


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def cohort():
    return load_cohort(EXAMPLE_DATA)


@lru_cache(maxsize=1)
def example_results() -> dict:
    return compute_results(load_cohort(EXAMPLE_DATA))


def make_results(synthetic: bool = False) -> dict:
    """The example data's results with hand-set P values and Cox rows (figures only print them)."""
    logrank = {
        "pfs": {"radical_treatment": {"p": 0.0123, "trend": None},
                "pos_count": {"p": 0.234, "trend": {"chi2": 2.1, "p": 0.147}}},
        "os": {"radical_treatment": {"p": 0.5271, "trend": None},
               "pos_count": {"p": 0.0781, "trend": {"chi2": 4.5, "p": 0.0339}}},
    }
    multivariable = [
        {"factor": "radical_treatment", "level": "Non-radical", "term": "radical_treatment[Non-radical]",
         "hr": 2.45, "ci": [1.2, 5.01], "p": 0.0138, "factor_p": 0.0138, "n": 20, "events": 19, "warning": None},
        {"factor": "po_timing", "level": "Synchronous", "term": "po_timing[Synchronous]",
         "hr": 3.1, "ci": [1.4, 6.9], "p": 0.00061, "factor_p": 0.00061, "n": 20, "events": 19, "warning": None},
        {"factor": "pos_count", "level": "2", "term": "pos_count[2]",
         "hr": 0.8, "ci": [0.3, 2.1], "p": 0.6512, "factor_p": 0.031, "n": 20, "events": 19, "warning": None},
        {"factor": "pos_count", "level": "3-4", "term": "pos_count[3-4]",
         "hr": 12.0, "ci": [1.5, math.inf], "p": 0.0201, "factor_p": 0.031, "n": 20, "events": 19,
         "warning": "separation"},
    ]
    results = copy.deepcopy(example_results())
    results["synthetic"] = synthetic
    for endpoint, tests in logrank.items():
        for factor, values in tests.items():
            results["logrank"][endpoint][factor].update(values)
    results["cox"]["pfs"]["multivariable"] = multivariable
    results["cox"]["os"]["multivariable"] = multivariable[:1]
    return results


@pytest.fixture(scope="module")
def results():
    return make_results()




def texts(fig) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def all_text(fig) -> str:
    return "\n".join(t.get_text() for t in texts(fig))


def axes_labelled(fig, label):
    (ax,) = [a for a in fig.axes if a.get_label() == label]
    return ax


def printed_at_risk(fig) -> pd.DataFrame:
    """The number-at-risk table as printed: read back from the table axes' text artists."""
    table_ax = axes_labelled(fig, AT_RISK_AXES_LABEL)
    # Cells are texts in data coordinates (x = time, y = row); row labels are annotations of a row.
    cells = [(t.get_position()[1], t.get_position()[0], int(t.get_text())) for t in table_ax.texts
             if not isinstance(t, Annotation) and t.get_transform() == table_ax.transData]
    labels = {t.xy[1]: t.get_text() for t in table_ax.texts if isinstance(t, Annotation)}
    frame = pd.DataFrame(cells, columns=["row", "time", "n"]).pivot(index="row", columns="time", values="n")
    frame.index = [labels[row] for row in frame.index]
    return frame


def direct_risk_counts(durations: pd.Series, times) -> list[int]:
    """Independent reference: n(t) = number of patients whose observed time is >= t."""
    return [int((durations >= t).sum()) for t in times]


# --------------------------------------------------------------------------- number at risk

@pytest.mark.parametrize("endpoint", ["pfs", "os"])
@pytest.mark.parametrize("factor", [None, "radical_treatment", "pos_count"])
def test_at_risk_table_equals_risk_sets_counted_from_the_data(cohort, results, endpoint, factor):
    fig = km_figure(results, endpoint, factor)
    table = km_at_risk_table(results, endpoint, factor)
    durations = cohort.patients[f"{endpoint}_months"]
    if factor is None:
        groups = {"All patients": durations}
    else:
        codes = cohort.factors[factor]
        groups = {str(level): durations[codes == level] for level in codes.cat.categories}
    assert list(table.index) == list(groups)
    for label, group_durations in groups.items():
        assert list(table.loc[label]) == direct_risk_counts(group_durations, table.columns), label
    # What is printed is that table, under the axis ticks it belongs to.
    printed = printed_at_risk(fig)
    pd.testing.assert_frame_equal(printed.loc[table.index], table, check_names=False, check_dtype=False)
    ticks = list(axes_labelled(fig, MAIN_AXES_LABEL).get_xticks())
    assert ticks == list(table.columns)
    assert axes_labelled(fig, AT_RISK_AXES_LABEL).get_xlim() == axes_labelled(fig, MAIN_AXES_LABEL).get_xlim()


def test_at_risk_counts_patients_whose_time_equals_the_tick():
    """n(t) counts T >= t: a patient with an event or censoring exactly at 6 months is at risk at 6.

    (lifelines' add_at_risk_counts counts T > t by default and would print 3, 1 here.)
    """
    panel = km_figure_panel(load_plan(), {"All patients": km_fit([3.0, 6.0, 6.0, 9.0, 12.0], [1, 1, 0, 0, 1])},
                            None, 0)
    assert panel["ticks"] == [0.0, 6.0, 12.0]
    assert panel["groups"] == [{"level": "All patients", "n": 5, "at_risk": [5, 4, 1]}]


def test_missing_factor_values_are_left_out_and_said_so(cohort):
    codes = cohort.factors["radical_treatment"].copy()
    codes.iloc[[1, 4]] = None
    results = compute_results(dataclasses.replace(cohort, factors=cohort.factors.assign(radical_treatment=codes)))
    fig = km_figure(results, "pfs", "radical_treatment")
    table = km_at_risk_table(results, "pfs", "radical_treatment")
    kept = cohort.patients["pfs_months"][codes.notna()]
    assert table.sum(axis=0).tolist() == direct_risk_counts(kept, table.columns)
    assert "Not shown: 2 patients with missing treatment of primary HCC." in all_text(fig)


def test_time_ticks_every_6_months_up_to_60_then_12():
    assert time_ticks(18.5) == [0, 6, 12, 18, 24]
    assert time_ticks(46.8) == [0, 6, 12, 18, 24, 30, 36, 42, 48]
    assert time_ticks(50.0) == [0, 6, 12, 18, 24, 30, 36, 42, 48, 54]
    assert time_ticks(61.0) == [0, 12, 24, 36, 48, 60, 72]
    assert time_ticks(6.0) == [0, 6]


# --------------------------------------------------------------------------- what the panels print

def test_km_legend_has_group_sizes_and_the_logrank_p_from_results(cohort, results):
    fig = km_figure(results, "pfs", "radical_treatment")
    legend = axes_labelled(fig, MAIN_AXES_LABEL).get_legend()
    counts = cohort.factors["radical_treatment"].value_counts()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == [f"Radical (n = {counts['Radical']})", f"Non-radical (n = {counts['Non-radical']})",
                      "Censored"]
    assert legend.get_title().get_text() == "Treatment of primary HCC\nLog-rank P = 0.012"


def test_km_ordered_factor_shows_the_trend_p(cohort, results):
    fig = km_figure(results, "os", "pos_count")
    title = axes_labelled(fig, MAIN_AXES_LABEL).get_legend().get_title().get_text()
    assert title == "Number of POs\nLog-rank P = 0.078\nTrend P = 0.034"


def test_km_overall_has_ci_band_and_censor_marks(cohort, results):
    fig = km_figure(results, "os")
    ax = axes_labelled(fig, MAIN_AXES_LABEL)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["All patients (n = 20)", "95% CI", "Censored"]
    assert len(ax.collections) == 1  # the CI band
    censored = cohort.patients.loc[cohort.patients["os_event"] == 0, "os_months"]
    marks = [line for line in ax.lines if line.get_marker() == style.CENSOR_MARKER]
    assert len(marks) == 1
    assert sorted(marks[0].get_xdata()) == pytest.approx(sorted(censored.unique()))


def test_groups_differ_in_line_style_as_well_as_colour(cohort, results):
    fig = km_figure(results, "os", "pos_count")
    steps = [line for line in axes_labelled(fig, MAIN_AXES_LABEL).lines if line.get_marker() in ("None", "")]
    assert len(steps) == 3
    # Dash patterns (matplotlib keeps the unscaled one privately; no public getter).
    assert len({str(line._unscaled_dash_pattern) for line in steps}) == 3
    assert len({line.get_color() for line in steps}) == 3


def test_forest_prints_hr_ci_and_p_beside_each_level(results):
    plan = load_plan()
    rows = forest_rows(results, "pfs", plan)
    kinds = [(row["kind"], row["text"]) for row in rows]
    assert kinds == [("factor", "Treatment of primary HCC"), ("reference", "Radical"), ("level", "Non-radical"),
                     ("factor", "PO timing"), ("reference", "Metachronous"), ("level", "Synchronous"),
                     ("factor", "Number of POs"), ("reference", "1"), ("level", "2"), ("level", "3-4")]
    fig = forest_figure(results, "pfs", plan)
    printed = all_text(fig)
    for expected in ["2.45 (1.20\u20135.01)", "3.10 (1.40\u20136.90)", "0.80 (0.30\u20132.10)",
                     "12.00 (1.50\u2013\u221e)", "0.014", "<0.001", "0.651", "0.020", "0.031", "1 (reference)"]:
        assert expected in printed.split("\n"), expected
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert any(list(line.get_xdata()) == [1.0, 1.0] for line in ax.lines)  # reference line at HR = 1


def test_hr_text_rounds_to_two_decimals():
    assert hr_text(0.5, [0.2345, 1.0]) == "0.50 (0.23\u20131.00)"


def test_forest_without_multivariable_rows_says_why(results):
    empty = dict(results, cox={"pfs": {"multivariable": [], "selection": {"rule": "univariable_p_below",
                                                                          "threshold": 0.05}}})
    assert "No factor with univariable P < 0.05: no multivariable model" in all_text(forest_figure(empty, "pfs"))


def test_forest_row_without_estimate_says_not_estimable(results):
    row = {"factor": "sex", "level": "Female", "term": "sex[Female]", "hr": None, "ci": [None, None], "p": None}
    fig = forest_figure(dict(results, cox={"pfs": {"multivariable": [row]}}), "pfs")
    assert "Not estimable" in all_text(fig).split("\n")


def test_figures_accept_the_statistics_engines_results(cohort):
    """Integration: the real results dict (analysis.results) has the keys the figures read."""
    real = compute_results(cohort)
    fig = km_figure(real, "pfs", "radical_treatment")
    title = axes_labelled(fig, MAIN_AXES_LABEL).get_legend().get_title().get_text()
    assert title.endswith(theme.p_text(real["logrank"]["pfs"]["radical_treatment"]["p"]))
    assert "(n = 20)" in all_text(flow_figure(real))
    forest_figure(real, "os")


def test_flow_counts_match_screening_file(cohort, results):
    screening = cohort.screening
    flow = {k: v for k, v in results["flow"].items() if k != "n_excluded"}
    assert flow["screened"] == len(screening)
    assert flow["included"] == int((screening["included"] == "yes").sum()) == len(cohort.patients)
    excluded = screening.loc[screening["included"] == "no", "exclusion_reason"].value_counts().to_dict()
    assert flow["excluded"] == excluded


def test_flow_boxes_show_each_stage_and_reasons_largest_first():
    results = {"flow": {"screened": 30, "excluded": {"lost to follow-up": 2, "more than 4 POs": 5},
                        "included": 23, "analysed": 22}}
    main, side = flow_boxes(results)
    assert main == ["Patients screened\n(n = 30)", "Patients included\n(n = 23)", "Patients analysed\n(n = 22)"]
    assert side == ["Excluded (n = 7)\n\u2022 More than 4 POs (n = 5)\n\u2022 Lost to follow-up (n = 2)",
                    "Not analysed (n = 1)", None]
    printed = all_text(flow_figure(results))
    assert "Patients screened\n(n = 30)" in printed and "Not analysed (n = 1)" in printed


def test_flow_without_screening_starts_at_included():
    main, side = flow_boxes({"n_patients": 62, "flow": None})
    assert main == ["Patients included\n(n = 62)", "Patients analysed\n(n = 62)"]
    assert side == [None, None]


# --------------------------------------------------------------------------- every figure type

FIGURE_TYPES = ["km_overall", "km_stratified", "forest", "flow"]


def build(kind: str, cohort, results) -> mpl.figure.Figure:
    if kind == "km_overall":
        return km_figure(results, "pfs")
    if kind == "km_stratified":
        return km_figure(results, "os", "pos_count")
    if kind == "forest":
        return forest_figure(results, "pfs")
    return flow_figure(results)


@pytest.mark.parametrize("kind", FIGURE_TYPES)
def test_text_is_at_least_6_pt_at_the_printed_size(cohort, results, kind):
    fig = build(kind, cohort, make_results(synthetic=True))
    width_mm = fig.get_figwidth() * 25.4
    assert width_mm == pytest.approx(style.TWO_COLUMN_MM if kind == "forest" else style.ONE_COLUMN_MM)
    sizes = {t.get_text(): t.get_fontsize() for t in texts(fig)}
    assert len(sizes) >= 4
    too_small = {text: size for text, size in sizes.items() if size < style.MIN_TEXT_PT}
    assert not too_small


@pytest.mark.parametrize("kind", FIGURE_TYPES)
def test_synthetic_data_note_only_on_synthetic_figures(cohort, kind):
    assert style.SYNTHETIC_NOTE in all_text(build(kind, cohort, make_results(synthetic=True)))
    assert style.SYNTHETIC_NOTE not in all_text(build(kind, cohort, make_results(synthetic=False)))


def test_building_figures_leaves_no_global_state(cohort, results):
    from matplotlib import pyplot as plt

    before = dict(mpl.rcParams)
    figures_before = plt.get_fignums()
    for kind in FIGURE_TYPES:
        build(kind, cohort, results)
    assert plt.get_fignums() == figures_before
    after = dict(mpl.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()


# --------------------------------------------------------------------------- files

def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["km_stratified", "forest"])
def test_two_runs_write_identical_bytes_in_every_format(cohort, tmp_path, kind):
    results = make_results(synthetic=True)
    first = save_figure(build(kind, cohort, results), kind, tmp_path / "run1")
    second = save_figure(build(kind, cohort, results), kind, tmp_path / "run2")
    assert [p.suffix for p in first] == [".pdf", ".svg", ".png", ".tiff"]
    for a, b in zip(first, second):
        assert a.stat().st_size > 1000
        assert sha256(a) == sha256(b), a.name
    pdf = first[0].read_bytes()
    assert b"CreationDate" not in pdf and b"/Type3" not in pdf  # no timestamp; TrueType, not Type 3
    assert b"/FontFile2" in pdf  # fonts embedded
    svg = first[1].read_text(encoding="utf-8")
    assert "<dc:date>" not in svg
    # Both vector files are well formed and have the printed size.
    width_pt = (style.TWO_COLUMN_MM if kind == "forest" else style.ONE_COLUMN_MM) / 25.4 * 72
    assert float(PdfReader(first[0]).pages[0].mediabox.width) == pytest.approx(width_pt, abs=0.01)
    assert float(ElementTree.fromstring(svg.encode()).get("width").removesuffix("pt")) == pytest.approx(width_pt)


def test_raster_files_resolution_and_format(cohort, results, tmp_path):
    fig = km_figure(results, "pfs")
    paths = {p.suffix: p for p in save_figure(fig, "km", tmp_path)}
    expected_px = round(style.ONE_COLUMN_MM / 25.4 * style.RASTER_DPI)
    with Image.open(paths[".png"]) as png:
        assert min(png.info["dpi"]) >= 300
        assert abs(png.size[0] - expected_px) <= 1
        assert png.mode == "RGB"
        assert not {k for k in png.info if k not in ("dpi",)}  # no text chunks (software, time)
        png_pixels = np.asarray(png)
    with Image.open(paths[".tiff"]) as tiff:
        tiff.load()
        assert tiff.info["compression"] == "tiff_lzw"
        assert min(tiff.info["dpi"]) >= 300
        assert np.array_equal(np.asarray(tiff), png_pixels)


def test_png_bytes_for_documents_are_reproducible_and_at_the_asked_dpi(results):
    first, second = png_bytes(flow_figure(results), dpi=300), png_bytes(flow_figure(results), dpi=300)
    assert first == second
    with Image.open(io.BytesIO(first)) as png:
        assert round(min(png.info["dpi"])) == 300


def test_two_group_palette_survives_greyscale():
    """The first two group colours differ in lightness too (ITU-R 601 luma, as Pillow's 'L' mode)."""
    grey = [Image.new("RGB", (1, 1), colour).convert("L").getpixel((0, 0)) for colour in style.GROUP_COLOURS[:2]]
    assert abs(grey[0] - grey[1]) >= 60
    assert len({str(dashes) for dashes in style.GROUP_LINESTYLES}) == len(style.GROUP_LINESTYLES)


def test_save_figure_rejects_unknown_format_and_path_names(cohort, results, tmp_path):
    fig = flow_figure(results)
    with pytest.raises(ValueError, match="unknown format"):
        save_figure(fig, "flow", tmp_path, formats=("jpg",))
    with pytest.raises(ValueError, match="plain file name"):
        save_figure(fig, "../flow", tmp_path)


def test_unknown_factor_is_a_clear_error(cohort, results):
    with pytest.raises(KeyError, match="eye_colour.*no KM figure"):
        km_figure(results, "pfs", "eye_colour")


def test_write_all_figures_writes_every_name_in_every_format(cohort, tmp_path):
    # One log-rank factor keeps the test short; the loop over factors is the same for thirteen.
    small = make_results()
    small["plan"]["logrank_factors"] = ["radical_treatment"]
    written = write_all_figures(small, tmp_path / "figures", workers=1)
    assert list(written) == figure_names(small) == [
        "km_pfs_overall", "km_pfs_radical_treatment", "km_os_overall", "km_os_radical_treatment",
        "forest_pfs", "forest_os", "ph_residuals", "flow"]
    for name, paths in written.items():
        assert [p.name for p in paths] == [f"{name}.{ext}" for ext in ("pdf", "svg", "png", "tiff")]
        assert all(p.parent == tmp_path / "figures" and p.stat().st_size > 0 for p in paths)


# --------------------------------------------------------------------------- image comparison

@pytest.mark.mpl_image_compare(**MPL)
def test_image_km_overall():
    return km_figure(make_results(), "pfs")


@pytest.mark.mpl_image_compare(**MPL)
def test_image_km_stratified():
    return km_figure(make_results(), "os", "pos_count")


@pytest.mark.mpl_image_compare(**MPL)
def test_image_forest():
    return forest_figure(make_results(), "pfs")


@pytest.mark.mpl_image_compare(**MPL)
def test_image_flow():
    results = make_results(synthetic=True)  # also guards the synthetic-data footer
    results["flow"] = {"screened": 30, "excluded": {"more than 4 pulmonary metastases": 5,
                                                    "primary tumour other than HCC": 2},
                       "included": 23, "analysed": 22}
    return flow_figure(results)


def test_pdf_embeds_the_outline_of_every_character_it_shows(tmp_path):
    """Each embedded subset holds the outline of every character the figure shows, in the figure
    font's character set (style.FIGURE_CHARACTERS) or not (then from the fallback face): read back
    with fontTools and compared glyph by glyph with the font file that holds the character."""
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    text = "HR 0.42 (95% CI) \u2265 6 \u03a9\u00e9\u0416"  # the last two are outside the figure font
    assert "\u03a9" not in style.FIGURE_CHARACTERS and "\u00e9" in style.FIGURE_CHARACTERS
    with style.figure_style():
        sources = [TTFont(font_manager.findfont(font_manager.FontProperties(family=family)))
                   for family in mpl.rcParams["font.family"]]

    def source_of(char):
        font = next(f for f in sources if ord(char) in f.getBestCmap())
        return font, font.getBestCmap()[ord(char)]

    for attempt in range(2):
        with style.figure_style():  # figures make their text inside the style, as every figure here does
            fig = style.new_figure(80, 25)
            fig.text(0.05, 0.5, text)
        pdf_path = save_figure(fig, f"glyphs{attempt}", tmp_path, formats=("pdf",))[0]
        embedded = []
        for page in PdfReader(pdf_path).pages:
            for font in page["/Resources"]["/Font"].values():
                descendant = font.get_object()["/DescendantFonts"][0].get_object()
                embedded.append(descendant["/FontDescriptor"]["/FontFile2"].get_object().get_data())
        names = {str(font.get_object()["/BaseFont"]).split("+")[-1] for page in PdfReader(pdf_path).pages
                 for font in page["/Resources"]["/Font"].values()}
        assert names == {"DejaVuSansFigures", "DejaVuSans"}  # the figure font and the fallback face
        found = set()
        for data in embedded:
            subset = TTFont(io.BytesIO(data))
            cmap, glyphs = subset.getBestCmap(), subset.getGlyphSet()
            for char in set(text) - {" "}:
                if ord(char) in cmap:
                    found.add(char)
                    source, name = source_of(char)
                    ours, theirs = glyphs[cmap[ord(char)]], source.getGlyphSet()[name]
                    assert ours.width == theirs.width, char
                    assert subset["glyf"][cmap[ord(char)]].getCoordinates(subset["glyf"])[0] == \
                        source["glyf"][name].getCoordinates(source["glyf"])[0], char
        assert found == set(text) - {" "}


def test_figure_font_is_the_full_face_for_its_characters():
    """The figure font lays out and rasterises each of its characters exactly as the full face does
    (advance, kerning against its neighbours, hinted pixels), in both faces."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    def image(path, text):
        font = FT2Font(str(path))
        font.set_size(7, 600)
        font.set_text(text, 0.0)
        font.draw_glyphs_to_bitmap()
        return font.get_width_height(), np.asarray(font.get_image()).tobytes()

    for weight, figure_file in zip(("normal", "bold"), style.figure_font()):
        full = font_manager.findfont(font_manager.FontProperties(family=style.FONT_FAMILY, weight=weight))
        different = [c for c in style.FIGURE_CHARACTERS if image(figure_file, f"T{c}a") != image(full, f"T{c}a")]
        assert different == [], weight
        sample = "Number at risk (months) fi fl AV To Wa 0123456789 \u2013 \u2264 \u00b1 Pr\u00e9cis"
        assert image(figure_file, sample) == image(full, sample)
