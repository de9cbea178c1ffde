"""Turn a generated cohort into what a second centre's export looks like (for tests).

Generated data are recognised as synthetic by their ``SYN-`` ids as well as by the
marker file (``analysis.data.provenance``), so a test that needs *patient* data made
from the generator must take both away, as a real export would never carry them.
"""

from __future__ import annotations

from pathlib import Path

from analysis.data.provenance import FINGERPRINT, marker_files


def as_centre_export(folder: Path) -> Path:
    """Remove the synthetic marker(s), manifest and README, and the ``SYN-`` prefix of every id."""
    folder = Path(folder)
    for name in marker_files(folder):
        (folder / name).unlink()
    for name in ("README.md", "data_manifest.yml"):
        (folder / name).unlink(missing_ok=True)
    for csv_file in folder.glob("*.csv"):
        text = csv_file.read_text(encoding="utf-8")
        csv_file.write_text(text.replace(FINGERPRINT, ""), encoding="utf-8")
    return folder
