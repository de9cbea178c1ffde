"""Command line: ``python -m analysis {validate,synth,results,diff,render,preview}``.

Each sub-command lives in its own module; this file only parses arguments and
turns data problems into a clean report with exit status 2 (no traceback).
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

# sub-command -> module with a ``run(args) -> int`` function
COMMANDS = {
    "validate": "analysis.data.validate_cmd",
    "synth": "analysis.synth",
    "results": "analysis.results",
    "render": "analysis.render_command",
    "diff": "analysis.diff",
    "preview": "analysis.preview",
}


class _HelpWithDefaults(argparse.HelpFormatter):
    """Adds "(default: X)" to an option's help unless the help states its default or there is none."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: {action.default})"


def build_parser() -> argparse.ArgumentParser:
    # Plain text for a terminal: no RST markup from the docstring, and every default stated.
    description = __doc__.splitlines()[0].replace("``", "")
    parser = argparse.ArgumentParser(prog="python -m analysis", description=description,
                                     formatter_class=_HelpWithDefaults)
    sub = parser.add_subparsers(dest="command", required=True)
    formatter = {"formatter_class": _HelpWithDefaults}

    validate = sub.add_parser("validate", help="validate a data directory and print a summary", **formatter)
    validate.add_argument("--data", help="data directory (default: the shipped synthetic data)")
    validate.add_argument("--plan", help="analysis plan (default: analysis_plan.yml)")

    synth = sub.add_parser("synth", help="write a synthetic cohort in the data contract's format", **formatter)
    synth.add_argument("--seed", type=int, default=None, help="random seed (default: the shipped seed)")
    synth.add_argument("--patients", type=int, default=62, help="number of patients")
    synth.add_argument("--out", default=None, help="output directory (required unless --replace-shipped)")
    synth.add_argument("--replace-shipped", action="store_true",
                       help="write over the shipped cohort in data/synthetic (it is never overwritten otherwise)")

    results = sub.add_parser("results", help="compute every statistic and write the results JSON", **formatter)
    results.add_argument("--data", help="data directory (default: the shipped synthetic data)")
    results.add_argument("--plan", help="analysis plan (default: analysis_plan.yml)")
    results.add_argument("--out", default=None, help="results file (default: _output/results.json)")

    diff = sub.add_parser("diff", help="every printed number that changed between two results files or output folders",
                          **formatter)
    diff.add_argument("old", help="results file or output folder (with results.json)")
    diff.add_argument("new", help="results file or output folder (with results.json)")

    render = sub.add_parser("render", help="render the manuscript and supplement", **formatter)
    render.add_argument("path", nargs="?", default=None, help=".qmd file or project folder (default: the project)")
    render.add_argument("--to", default="html,pdf,docx", help="comma-separated formats (html, pdf, docx)")
    render.add_argument("--engine", choices=["auto", "quarto", "embedded"], default="auto",
                        help="auto: quarto when it is on PATH, else the embedded engine")
    render.add_argument("--out", default=None, help="output directory (default: _output)")
    render.add_argument("--data", help="data directory (default: the shipped synthetic data)")
    render.add_argument("--plan", help="analysis plan (default: analysis_plan.yml)")
    render.add_argument("--no-cache", action="store_true", help="ignore cached outputs and render anew")

    preview = sub.add_parser("preview", help="serve the documents' HTML on localhost, re-render and reload on change")
    preview.add_argument("path", nargs="?", default=None, help=".qmd file or project folder (default: the project)")
    preview.add_argument("--port", type=int, default=None, help="port to listen on (default: a free one in 3000-8000)")
    preview.add_argument("--no-browser", action="store_true", help="do not open a browser")
    preview.add_argument("--browser", action="store_true", help="open a browser (otherwise only where a display is)")
    preview.add_argument("--out", default=None, help="output directory (default: _output; pages in <out>/.preview)")
    preview.add_argument("--data", help="data directory (default: the shipped synthetic data)")
    preview.add_argument("--plan", help="analysis plan (default: analysis_plan.yml)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from analysis import paths
    from analysis.data.errors import DataError

    args = build_parser().parse_args(argv)
    with paths.imports_uncollected():
        module = import_module(COMMANDS[args.command])
    try:
        return int(module.run(args) or 0)
    except DataError as error:
        print(error.report(), file=sys.stderr)
        return 2
    except OSError as error:   # a read-only or full disk, a folder where a file should be: one line
        print(f"error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
