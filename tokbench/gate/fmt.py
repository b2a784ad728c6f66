"""Number formatting of the gate's summaries (values, signed deltas, percentages, intervals)."""
from __future__ import annotations

import math


def fmt(x: float, *, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return ("+∞" if x > 0 else "−∞") if sign or x < 0 else "∞"
    s = "+" if sign and x > 0 else ""
    if x == 0:
        return "0" if not sign else "±0"
    a = abs(x)
    if a >= 1000:
        body = f"{x:.0f}"
    elif a >= 100:
        body = f"{x:.1f}"
    elif a >= 1:
        body = f"{x:.3f}"
    elif a >= 1e-4:
        body = f"{x:.4f}"
    else:
        body = f"{x:.2e}"
    return s + body.replace("-", "−")


def pct(x: float, *, sign: bool = True) -> str:
    if x is None or math.isnan(x):
        return "–"
    if math.isinf(x):
        return "+∞%" if x > 0 else "−∞%"
    if x == 0:
        return "±0%" if sign else "0%"
    v = x * 100
    body = f"{v:+.1f}" if sign else f"{v:.1f}"
    if abs(v) < 0.1:
        body = f"{v:+.3f}" if sign else f"{v:.3f}"
    return body.replace("-", "−") + "%"


def interval(lo: float, hi: float, f=fmt) -> str:
    if math.isnan(lo) and math.isnan(hi):
        return "–"
    return f"[{f(lo, sign=True)}, {f(hi, sign=True)}]"
