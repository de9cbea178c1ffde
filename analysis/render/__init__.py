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
7. :mod:`.command` renders a project or file with real Quarto (one ``quarto render --to``
   per format, or ``all``) or this engine; the study's ``analysis/render_command.py``
   (``python -m analysis render``) calls it with the study's inputs as environment variables.

The package imports nothing else of ``analysis`` (except :mod:`.cache`, still keyed on the
study's inputs) and names no study file: it could be lifted out as a package of its own.
See SUPPORTED.md for each rule and the Quarto 1.10 source it follows.
"""

from analysis.render.errors import RenderError

__all__ = ["RenderError"]
