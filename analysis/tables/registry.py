"""The one list of tables: name, builder, caption, document variant, formats.

The pre-render (``analysis.publish``) writes every table of ``tables(results)``
as ``tables/<name>.{md,csv}``; the documents (``report.ReportContext.table``)
find tables here; ``analysis.diff`` compares them cell by cell. Adding a table
is one entry here plus its builder (a function of the results dict returning an
``analysis.tables.model.Table``). An entry whose builder does not exist fails at
import with the entry's name.

An entry with ``per_endpoint`` makes one table per plan endpoint, named
``<name>_<endpoint>`` (``cox_pfs``, ``cox_os``), its builder called with the endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable

from analysis.tables import builders, supplement
from analysis.tables.model import Table


class RegistryError(LookupError):
    pass


@dataclass(frozen=True)
class TableEntry:
    name: str
    builder: Callable[..., Table]
    caption: str
    variant: str  # the document that shows it: "manuscript" or "supplement"
    per_endpoint: bool = False
    formats: tuple[str, ...] = field(default=("md", "csv"))


def _reproduction(results: dict) -> Table:
    return supplement.tbl_reproduction([SimpleNamespace(**row) for row in results["reproduction"]])


TABLES: tuple[TableEntry, ...] = (
    TableEntry("baseline", builders.tbl_baseline, "Baseline characteristics of the patients", "manuscript"),
    TableEntry("lesions", builders.tbl_lesions, "Characteristics of the treated POs", "manuscript"),
    TableEntry("technical", builders.tbl_technical_outcomes, "Technical outcomes and complications", "manuscript"),
    TableEntry("cox", builders.tbl_cox, "Univariable and multivariable Cox regression", "manuscript",
               per_endpoint=True),
    TableEntry("logrank", builders.tbl_logrank, "Kaplan-Meier medians and log-rank tests by factor", "supplement",
               per_endpoint=True),
    TableEntry("provenance", supplement.tbl_provenance, "Input files", "supplement"),
    TableEntry("corrections", supplement.tbl_corrections, "Corrections applied", "supplement"),
    TableEntry("reproduction", _reproduction, "Published versus computed results", "supplement"),
    TableEntry("median_ci", supplement.tbl_median_ci, "Median survival by two CI methods", "supplement"),
    TableEntry("ph", supplement.tbl_ph, "Proportional-hazards tests", "supplement"),
    TableEntry("software", supplement.tbl_software, "Software", "supplement"),
)
VARIANTS = ("manuscript", "supplement")


def _check(entries: tuple[TableEntry, ...]) -> None:
    names = [e.name for e in entries]
    for entry in entries:
        if not callable(entry.builder):
            raise RegistryError(f"table registry entry {entry.name!r}: builder is not a function")
        if names.count(entry.name) > 1:
            raise RegistryError(f"table registry: name {entry.name!r} listed twice")
        if entry.variant not in VARIANTS:
            raise RegistryError(f"table registry entry {entry.name!r}: unknown variant {entry.variant!r}")
        if set(entry.formats) - {"md", "csv"}:
            raise RegistryError(f"table registry entry {entry.name!r}: unknown format(s) {entry.formats}")


_check(TABLES)


@dataclass(frozen=True)
class TableSpec:
    name: str
    entry: TableEntry
    endpoint: str | None

    def build(self, results: dict) -> Table:
        table = self.entry.builder(results, self.endpoint) if self.endpoint else self.entry.builder(results)
        if table.name != self.name:
            raise RegistryError(f"table {self.name!r}: its builder made a table called {table.name!r}")
        return table


def tables(results: dict) -> dict[str, TableSpec]:
    """Every table the results call for, by name, in registry order."""
    out: dict[str, TableSpec] = {}
    for entry in TABLES:
        if entry.per_endpoint:
            for endpoint in results["plan"]["endpoints"]:
                out[f"{entry.name}_{endpoint}"] = TableSpec(f"{entry.name}_{endpoint}", entry, endpoint)
        else:
            out[entry.name] = TableSpec(entry.name, entry, None)
    return out


def table(name: str, results: dict) -> Table:
    """The table called ``name`` built from ``results``; ``KeyError`` naming the known ones."""
    known = tables(results)
    if name not in known:
        raise KeyError(f"no table called {name!r}; known: {', '.join(known)}")
    return known[name].build(results)
