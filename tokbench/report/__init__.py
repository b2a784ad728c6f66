"""Report layer: reads only the results store (a DataFrame with the tokbench.schema columns)."""
from __future__ import annotations

from .leaderboard import latest, render

__all__ = ["latest", "render"]


def render_leaderboard(results_dir, lead=None) -> dict | None:
    """Render ``results_dir/leaderboard`` from the store (None when the store is empty); the
    suites named in ``lead`` come first (``render``), the others by name."""
    from pathlib import Path

    from ..metrics import metric_info
    from ..store import load_corpus_facts, load_results

    df = load_results(results_dir)
    if df.empty:
        return None
    return render(df, Path(results_dir) / "leaderboard", metric_info=metric_info(), lead=lead,
                  corpus_facts=load_corpus_facts(results_dir))
