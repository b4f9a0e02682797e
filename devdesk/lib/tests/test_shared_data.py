"""The shared data folder is found wherever the checkout is."""

from __future__ import annotations

from devdesk.lib import shared_data as module


def test_a_named_folder_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVDESK_SHARED_DATA", str(tmp_path))

    assert module.shared_data_dir() == tmp_path
    assert module.shared_data("emails") == tmp_path / "emails"


def test_without_any_folder_there_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVDESK_SHARED_DATA", str(tmp_path / "missing"))
    monkeypatch.setattr(module, "CHECKOUT", tmp_path / "elsewhere" / "repo")
    monkeypatch.setattr(module, "WORKPLACE", tmp_path / "nowhere")

    assert module.shared_data_dir() is None
