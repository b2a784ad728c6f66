"""Report layer: reads only the results store (a DataFrame with the tokbench.schema columns)."""
from __future__ import annotations

from .leaderboard import latest, render

__all__ = ["latest", "render"]
