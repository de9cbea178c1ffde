"""Publication report generator for the thermal-ablation study of HCC pulmonary oligometastases.

Data flow, one way only:
raw CSV files -> ``analysis.data`` (validated, corrected cohort) -> ``analysis.stats``
(results file) -> ``analysis.tables`` / ``analysis.figures`` -> ``report/*.qmd`` ->
``analysis.render`` (HTML, PDF, DOCX).
"""

__version__ = "0.1.0"
