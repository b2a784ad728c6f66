"""Shared fixtures: the asset cache, offline mode, temporary results stores and small corpora.

Real tokenizer assets and the UDHR come from the tokbench cache (``$TOKBENCH_CACHE``, default
``~/.cache/tokbench``); ``tokbench fetch`` fills it once. Nothing here touches the network.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
if str(TESTS_DIR) not in sys.path:  # helpers_*.py and registry `impl = "helpers_tokbench:..."`
    sys.path.insert(0, str(TESTS_DIR))

# offline first: `datasets` / the hub must never try the network in tests
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def tokbench_cache() -> Path:
    """The warm asset cache every test reads (``$TOKBENCH_CACHE`` or ``~/.cache/tokbench``)."""
    root = os.environ.get("TOKBENCH_CACHE") or str(Path.home() / ".cache" / "tokbench")
    os.environ["TOKBENCH_CACHE"] = root
    return Path(root)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    """A cache with the real assets (symlinked) but no shard statistics, shard manifest,
    tokenizations or model chunk scores: what a cache-behaviour test needs to start from."""
    real = Path(os.environ["TOKBENCH_CACHE"])
    cache = tmp_path / "cache"
    cache.mkdir()
    for sub in real.iterdir():
        if sub.name not in ("shards", "tokenized", "scores"):
            (cache / sub.name).symlink_to(sub)
    monkeypatch.setenv("TOKBENCH_CACHE", str(cache))
    return cache


@pytest.fixture(scope="module")
def tr():
    """The Turkish %LANG / %Pure backend (zemberek roots and affixes + hunspell-tr); skips without them."""
    pytest.importorskip("spylls")
    pytest.importorskip("zemberek")
    from tokbench.linguistic import get_backend
    from tokbench.linguistic.hunspell import find_dictionary

    if find_dictionary("tr") is None:
        pytest.skip("hunspell-tr is not installed (apt-get install hunspell-tr)")
    return get_backend("zemberek+hunspell", "tr")


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    """A fresh (not yet existing) results store."""
    return tmp_path / "results"


@pytest.fixture
def seeded_results(tmp_path: Path) -> Path:
    """A results store that already holds one part file (from an earlier run)."""
    from helpers_tokbench import make_rows

    from tokbench.store import write_part

    root = tmp_path / "seeded-results"
    write_part(make_rows(4), root, run_id="earlier00000", seq=1)
    return root


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """A three-document English .txt corpus (one document per line)."""
    path = tmp_path / "tiny.txt"
    path.write_text("All human beings are born free and equal in dignity and rights.\n"
                    "Everyone has the right to life, liberty and security of person.\n"
                    "No one shall be held in slavery or servitude.\n", encoding="utf-8")
    return path


@pytest.fixture
def core_suite_path() -> Path:
    return REPO_ROOT / "suites" / "core-v1.toml"


def pytest_terminal_summary(terminalreporter):
    """Print the performance ratios measured by tests/test_benchmarks.py and
    tests/test_benchmarks_scale.py (same-run baselines): a number is a ratio, a string a
    measured value printed as it is."""
    lines = []
    for module in ("test_benchmarks", "test_benchmarks_scale"):
        ratios = getattr(sys.modules.get(module), "RATIOS", None) or {}
        lines += [f"{name}: {value:.2f}x" if isinstance(value, (int, float)) else f"{name}: {value}"
                  for name, value in ratios.items()]
    if lines:
        terminalreporter.section("tokbench performance ratios")
        for line in lines:
            terminalreporter.write_line(line)
