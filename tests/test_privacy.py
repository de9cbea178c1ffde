"""Patient data: the individual corrections (record, old and new value, reason) stay out of every
file meant to be shared — the documents and results.json — and go to the internal audit report."""

from __future__ import annotations

import json
import shutil

from analysis import paths
from tests.centre_export import as_centre_export

LEDGER = ("correction_id,file,record_id,column,old_value,new_value,reason,corrected_on,corrected_by\n"
          "C1,patients,P002,ecog,0,1,chart audit of patient P002,2026-11-20,DM\n")


def test_results_file_keeps_only_the_corrected_variables_the_audit_keeps_the_rows(tmp_path, monkeypatch):
    from analysis.publish import publish_results

    data = tmp_path / "export"
    shutil.copytree(paths.SHIPPED_DATA, data)
    as_centre_export(data)
    (data / "corrections.csv").write_text(LEDGER, encoding="utf-8")
    monkeypatch.setenv(paths.DATA_ENV_VAR, str(data))
    monkeypatch.setenv(paths.RENDER_FORMATS_ENV_VAR, "html")  # no journal figure files: quicker
    monkeypatch.delenv(paths.RESULTS_ENV_VAR, raising=False)
    monkeypatch.delenv(paths.RENDER_CACHE_ENV_VAR, raising=False)
    out = tmp_path / "out"
    assert publish_results(out) == 0

    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["synthetic"] is False
    assert results["data"]["corrections"] == [{"correction_id": "C1", "file": "patients", "column": "ecog"}]
    shared = [out / "results.json", *sorted((out / "tables").iterdir())]
    for file in shared:
        text = file.read_text(encoding="utf-8")
        assert "P002" not in text and "chart audit" not in text, file.name
    audit = (out / "internal" / "corrections-audit.csv").read_text(encoding="utf-8")
    assert "P002" in audit and "chart audit of patient P002" in audit
