"""qt/window/menus.py: File > Export / Import call the transfer dialogs and an import reloads what is shown."""

from __future__ import annotations

import numpy as np

from gradia_desktop.qt.transfer import dialogs as transfer_dialogs
from gradia_desktop.qt.browser.table_model import CHECK, MASK

from ..helpers_qt import open_main_window


def test_export_gets_the_project_and_the_selected_version(qtbot, small_project_dir, monkeypatch):
    calls = []
    monkeypatch.setattr(transfer_dialogs, "export_interactively", lambda *args: calls.append(args))
    window = open_main_window(qtbot, small_project_dir)
    window.menus.export_action.trigger()
    assert calls == [(window, window.project, None)]


def test_an_import_replaces_the_shown_mask_and_the_browser_row(qtbot, small_project_dir, monkeypatch):
    window = open_main_window(qtbot, small_project_dir)
    while window.current_sample.has_mask:
        window.browser.select_next()
    sample = window.current_sample
    assert not window.canvas.editor().mask.any()
    imported = np.zeros((sample.height, sample.width), bool)
    imported[5:20, 8:30] = True

    def fake_import(parent, project):
        project.write_mask(sample, imported, source="imported")
        return True

    monkeypatch.setattr(transfer_dialogs, "import_interactively", fake_import)
    window.menus.import_action.trigger()
    assert np.array_equal(window.canvas.editor().mask, imported)
    row = window.browser.model.row_of(sample.id)
    assert window.browser.model.index(row, MASK).data() == CHECK
