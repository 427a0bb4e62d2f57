"""The Training dock's saved form: a config round-trips, older and newer saves still open."""

from __future__ import annotations

import json

from gradia_desktop.qt.models.saved_form import restored_form, saved_form
from gradia_desktop.training.config import TrainConfig


def test_a_saved_form_reads_back_to_the_same_config():
    config = TrainConfig(mode="guided", epochs=12, batch_size=32, lr=0.01, weights={**TrainConfig().weights,
                                                                                   "UA": (0.5, 2.0)})
    assert restored_form(saved_form(config)) == config
    assert restored_form(saved_form(TrainConfig(mode="guided"))).batch_size is None


def test_a_form_saved_before_the_batch_could_be_left_open_follows_the_run():
    old = {k: v for k, v in TrainConfig(mode="guided").to_dict().items()}
    old["batch_size"] = 32  # the field's default then, saved whether or not the user touched it
    assert restored_form(json.dumps(old)).batch_size is None
    old["batch_size"] = 24  # a number the user chose is kept
    assert restored_form(json.dumps(old)).batch_size == 24


def test_unreadable_or_empty_saves_give_nothing_and_unknown_settings_are_dropped():
    for text in ("", "{}", "not json", "[1, 2]", json.dumps({"weights": {"UA": 3}})):
        assert restored_form(text) is None, text
    newer = {**TrainConfig().to_dict(), "form": 9, "a_setting_from_a_newer_version": 1}
    assert restored_form(json.dumps(newer)) == TrainConfig()
