"""The training config: the guided recipe's settings filled in by mode, the paper's modes untouched."""

from __future__ import annotations

import pytest

from gradia_desktop.errors import GradiaError
from gradia_desktop.training.config import (
    GUIDED_OUTSIDE_WEIGHT,
    GUIDED_SHARE,
    GUIDED_START,
    MODES,
    PLAIN_SHARE,
    RECOMMENDED_MODE,
    TrainConfig,
)


def test_guided_fills_in_counterfactuals_their_share_and_the_outside_penalty():
    config = TrainConfig(mode="guided").resolved()
    assert RECOMMENDED_MODE == "guided" in MODES
    assert config.counterfactual is True
    assert config.counterfactual_share == GUIDED_SHARE and config.outside_weight == GUIDED_OUTSIDE_WEIGHT > 0
    assert config.propagate_masks is True and config.mosaic_share == 0.25


def test_what_the_user_sets_wins_over_the_recipe():
    config = TrainConfig(mode="guided", counterfactual_share=0.3, outside_weight=0.0, mosaic_share=0.0).resolved()
    assert (config.counterfactual_share, config.outside_weight, config.mosaic_share) == (0.3, 0.0, 0.0)


@pytest.mark.parametrize("mode", ["baseline", "gradia", "gradia-all"])
def test_the_other_modes_stay_as_they_were(mode):
    plain = TrainConfig(mode=mode).resolved()
    assert plain.counterfactual is False and plain.outside_weight == 0.0 and plain.propagate_masks is False
    assert plain.mosaic_share == 0.0
    with_cf = TrainConfig(mode=mode, counterfactual=True).resolved()
    assert with_cf.counterfactual_share == PLAIN_SHARE and with_cf.outside_weight == 0.0


def test_mask_propagation_can_be_turned_off_in_guided_and_on_wherever_counterfactuals_are():
    assert TrainConfig(mode="guided", propagate_masks=False).resolved().propagate_masks is False
    TrainConfig(mode="gradia-all", counterfactual=True, propagate_masks=True).validate()
    with pytest.raises(GradiaError, match="proposed masks only feed counterfactual backgrounds"):
        TrainConfig(mode="gradia-all", propagate_masks=True).validate()


def test_a_guided_run_from_a_parent_restarts_and_the_paper_modes_fine_tune():
    assert GUIDED_START == "initial"
    assert TrainConfig(mode="guided", parent=1).resolved().start == "initial"
    for mode in ("baseline", "gradia", "gradia-all"):
        assert TrainConfig(mode=mode, parent=1).resolved().start == "parent"
    assert TrainConfig(mode="guided", parent=1, start="parent").resolved().start == "parent"
    assert TrainConfig(mode="gradia", parent=1, start="initial").resolved().start == "initial"
    assert TrainConfig(mode="guided").resolved().start is None  # nothing to start from but the arch's own init


def test_resolving_copies_the_weight_table():
    config = TrainConfig(mode="guided")
    config.resolved().weights["UA"] = (9.0, 9.0)
    assert config.weights["UA"] != (9.0, 9.0)


@pytest.mark.parametrize("field,value,fragment", [("counterfactual_share", 1.0, "counterfactual share"),
                                                  ("outside_weight", -1.0, "outside-evidence weight"),
                                                  ("mosaic_share", 1.5, "mosaic share"),
                                                  ("start", "pretrained", "unknown start")])
def test_bad_recipe_settings_are_one_line_errors(field, value, fragment):
    with pytest.raises(GradiaError, match=fragment):
        TrainConfig(mode="guided", **{field: value}).validate()


def test_epochs_left_open_follow_where_the_run_starts():
    from gradia_desktop.training.config import DEFAULT_EPOCHS, RESTART_EPOCHS

    assert TrainConfig().resolved().epochs == DEFAULT_EPOCHS  # a first model
    assert TrainConfig(mode="guided", parent=1).resolved().epochs == RESTART_EPOCHS  # starts again
    assert TrainConfig(mode="guided", parent=1, start="parent").resolved().epochs == DEFAULT_EPOCHS
    assert TrainConfig(mode="gradia", parent=1).resolved().epochs == DEFAULT_EPOCHS  # fine-tunes
    assert TrainConfig(mode="gradia-all", parent=1, start="initial").resolved().epochs == RESTART_EPOCHS
    assert TrainConfig(mode="guided", parent=1, epochs=5).resolved().epochs == 5  # the user's number wins
    with pytest.raises(GradiaError, match="epochs must be at least 1"):
        TrainConfig(epochs=0).validate()


def test_a_batch_left_open_halves_for_a_guided_run_that_would_have_too_few_steps():
    from gradia_desktop.training.config import DEFAULT_BATCH, GUIDED_MIN_BATCHES, GUIDED_SMALL_BATCH, default_batch_size

    assert default_batch_size("guided", 300) == GUIDED_SMALL_BATCH  # 10 batches of 32 an epoch: too few
    assert default_batch_size("guided", 24) == GUIDED_SMALL_BATCH  # never below the floor
    enough = GUIDED_MIN_BATCHES * DEFAULT_BATCH
    assert default_batch_size("guided", enough) == DEFAULT_BATCH  # a large project keeps full batches
    assert default_batch_size("guided", enough - DEFAULT_BATCH) == GUIDED_SMALL_BATCH
    for mode in ("baseline", "gradia", "gradia-all"):  # the paper's modes keep the paper's batch
        assert default_batch_size(mode, 300) == DEFAULT_BATCH


def test_the_batch_is_resolved_only_once_the_training_split_is_known():
    assert TrainConfig(mode="guided").resolved().batch_size is None
    assert TrainConfig(mode="guided").resolved(300).batch_size == 16
    assert TrainConfig(mode="baseline").resolved(300).batch_size == 32
    assert TrainConfig(mode="guided", batch_size=64).resolved(300).batch_size == 64  # the user's number wins
    with pytest.raises(GradiaError, match="batch-size must be at least 1"):
        TrainConfig(batch_size=0).validate()


def test_settings_saved_as_json_read_back_to_the_same_config(tmp_path):
    import json

    config = TrainConfig(mode="guided", parent=2, epochs=5, lr=0.01, weights={**TrainConfig().weights, "UA": (0.5, 2)})
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(config.to_dict()))
    assert TrainConfig.read(path) == config


@pytest.mark.parametrize("text, problem", [
    ("{nope", "not a JSON settings file"),
    ("[1, 2]", "expected a JSON object"),
    ('{"epohcs": 3}', "unknown training setting 'epohcs'"),
    ('{"lr": "fast"}', "'lr' must be a float, got 'fast'"),
    ('{"weights": {"UA": 3}}', "'weights' must map each row to two numbers"),
    ('{"epochs": 0}', "epochs must be at least 1"),
])
def test_bad_settings_files_are_one_line_errors_naming_the_file(tmp_path, text, problem):
    path = tmp_path / "settings.json"
    path.write_text(text)
    with pytest.raises(GradiaError) as exc:
        TrainConfig.read(path)
    assert str(exc.value).startswith(str(path)) and problem in str(exc.value) and "\n" not in str(exc.value)


def test_a_missing_settings_file_is_named(tmp_path):
    with pytest.raises(GradiaError, match="settings.json: cannot read the settings"):
        TrainConfig.read(tmp_path / "settings.json")
