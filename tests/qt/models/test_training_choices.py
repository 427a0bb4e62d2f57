from gradia_desktop.qt.models.training_choices import inputs_text
from gradia_desktop.training.config import RESTART_EPOCHS

from .test_training_form import version


def test_inputs_text_says_what_each_mode_learns_from():
    assert inputs_text("guided", None, None, True, False) == ""  # not known yet
    assert inputs_text("guided", None, (1, {}), True, False) == "Uses 1 masked training image"
    assert inputs_text("baseline", None, (5, {}), False, False) == "Uses the labels only: no masks"
    assert inputs_text("baseline", None, (5, {}), True, False) == "Uses 5 masked training images for counterfactual backgrounds"
    parent = version(3)
    assert inputs_text("gradia", parent, (5, {3: 2}), False, False) == (
        f"Uses 5 masked training images, weighted by {parent.name}'s quadrants: 2 judged by you, the rest as suggested")


def test_a_short_restart_is_warned_about():
    text = inputs_text("guided", None, (4, {}), True, True)
    assert text.startswith("Uses 4 masked training images. It starts again") and str(RESTART_EPOCHS) in text
    assert inputs_text("guided", None, None, True, True).startswith("It starts again")
