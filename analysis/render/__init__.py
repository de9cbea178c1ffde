"""Embedded Quarto-compatible render engine and the ``render`` command.

Quarto is not installable everywhere, so this package renders the project's
``.qmd`` documents from the parts Quarto itself is built on:

1. :mod:`.qmd` parses YAML front matter, ```` ```{python} ```` cells with ``#|``
   options and inline `` `{python} expr` `` (unsupported syntax is an error
   naming file and line);
2. :mod:`.project` reads ``_quarto.yml`` and merges metadata as Quarto does;
3. :mod:`.execute` runs the cells in one Jupyter kernel per document (nbclient);
4. :mod:`.markdown` turns cell outputs into pandoc Markdown;
5. :mod:`.crossref` numbers ``@tbl-``, ``@fig-``, ``@sec-`` on the pandoc AST,
   once, so every format shows the same numbers;
6. :mod:`.formats` writes HTML / DOCX (pandoc) and PDF (pandoc -> Typst -> typst);
7. :mod:`.command` is ``python -m analysis render``; it picks ``quarto`` when on PATH.
"""

from analysis.render.errors import RenderError

__all__ = ["RenderError"]
