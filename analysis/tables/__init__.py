"""Tables as data (``Table``), journal formatting (``theme``) and builders reading the results dict."""

from analysis.tables.builders import tbl_baseline, tbl_cox, tbl_lesions, tbl_logrank, tbl_technical_outcomes
from analysis.tables.model import Row, Table

__all__ = ["Row", "Table", "tbl_baseline", "tbl_cox", "tbl_lesions", "tbl_logrank", "tbl_technical_outcomes"]
