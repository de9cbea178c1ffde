"""Is a data set synthetic? Decided from the data themselves, not from one file beside them.

Three kinds of evidence, any one of which makes the data synthetic (a copy of
generated data is never taken for patient data):

fingerprint   the generator (``analysis.synth.writer``) writes every id with the
              prefix ``SYN-`` (``SYN-P001``, ``SYN-P001-S1``...). A patient id that
              carries it marks the data set, so the CSV files alone, copied anywhere,
              are still recognised.
marker        a file beside the CSVs named ``SYNTHETIC`` in any case, with or without
              an extension (``synthetic``, ``SYNTHETIC.txt``, ``Synthetic.md``): the
              generator writes one; it is recognised but no longer required.
manifest      an optional ``data_manifest.yml`` a centre (or the generator) may add::

                  synthetic: false          # required: true or false
                  source: "Centre X export 2026-11-20"   # optional, free text

              ``synthetic: true`` marks the data. ``synthetic: false`` cannot outvote
              the fingerprint or a marker (they say the files were generated).

A real centre's export with none of these (no extra file, ids of its own) is
patient data, exactly as before.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.data.errors import Problem

FINGERPRINT = "SYN-"            # the prefix of every id the generator writes
MARKER = "SYNTHETIC"            # the marker file the generator writes
MANIFEST = "data_manifest.yml"  # the optional manifest
MANIFEST_KEYS = {"synthetic": bool, "source": str}
_MARKER_NAME = re.compile(r"synthetic(\.[A-Za-z0-9]{1,8})?", re.IGNORECASE)


def marker_files(directory: Path) -> list[str]:
    """Names of marker files in ``directory`` (``SYNTHETIC``, ``synthetic.txt``...)."""
    try:
        return sorted(p.name for p in Path(directory).iterdir() if _MARKER_NAME.fullmatch(p.name))
    except OSError:
        return []


def read_manifest(directory: Path) -> tuple[dict | None, list[Problem]]:
    """The manifest's content (None without one) and its problems (wrong type, unknown key)."""
    import yaml

    from analysis.yaml_files import load_yaml

    path = Path(directory) / MANIFEST
    if not path.exists():
        return None, []
    if not path.is_file() or path.is_symlink():
        return None, [Problem(MANIFEST, None, None, None, "must be a regular file (not a link, folder or device)")]
    try:
        content = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        return None, [Problem(MANIFEST, None, None, None, f"could not be read as YAML: {error}")]
    if not isinstance(content, dict):
        return None, [Problem(MANIFEST, None, None, None, "must be a mapping with the key 'synthetic: true|false'")]
    problems = [Problem(MANIFEST, None, str(key), None, f"unknown key (known: {', '.join(MANIFEST_KEYS)})")
                for key in content if key not in MANIFEST_KEYS]
    if "synthetic" not in content:
        problems.append(Problem(MANIFEST, None, "synthetic", None, "required key is missing (true or false)"))
    problems += [Problem(MANIFEST, None, key, repr(content[key]), f"must be {kind.__name__}")
                 for key, kind in MANIFEST_KEYS.items() if key in content and not isinstance(content[key], kind)]
    return (content if not problems else None), problems


def fingerprinted(patients: pd.DataFrame | None) -> bool:
    """True when a patient id carries the generator's fingerprint."""
    if patients is None or "patient_id" not in patients.columns:
        return False
    # stops at the first fingerprinted id (the first row, for generated data), 10^6 ids otherwise
    return any(str(value).startswith(FINGERPRINT) for value in patients["patient_id"].to_numpy(dtype=object))


def synthetic_evidence(directory: Path, patients: pd.DataFrame | None, manifest: dict | None) -> tuple[str, ...]:
    """Why the data set is synthetic (empty: patient data)."""
    evidence = []
    if fingerprinted(patients):
        evidence.append(f"ids carry the generator's fingerprint '{FINGERPRINT}'")
    evidence += [f"marker file {name}" for name in marker_files(directory)]
    if manifest and manifest.get("synthetic") is True:
        evidence.append(f"{MANIFEST} says synthetic: true")
    return tuple(evidence)
