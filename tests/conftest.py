"""Session-wide test hooks."""


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The R differential suite's counts (tests/test_vs_r.py), when it ran."""
    summary = getattr(config, "_r_differential", None)
    if not summary:
        return
    terminalreporter.write_line(
        f"R differential: {summary['cohorts']} cohorts, {summary['comparisons']:,} comparisons, "
        f"{summary['failures']} failures")
    terminalreporter.write_line("  per statistic (comparisons / failures): " + "; ".join(
        f"{family} {count:,}/{bad}" for family, (count, bad) in summary["by_family"].items()))
    if summary.get("shipped_multivariable"):
        compared, bad = summary["shipped_multivariable"]
        terminalreporter.write_line(f"  shipped cohort's multivariable models: {compared} comparisons, {bad} failures")
    if summary.get("max_relative"):
        terminalreporter.write_line("  largest relative difference: " + "; ".join(
            f"{family} {value:.1e}" for family, value in summary["max_relative"].items()))
    for known in summary.get("known", []):
        terminalreporter.write_line(f"  known difference (round-off): {known}")
