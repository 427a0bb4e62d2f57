"""What the mask tools toolbar (tool_panel.py) offers: each tool's name, label, key and tooltip, and
each action's icon."""

from __future__ import annotations

# name, label, shortcut, tooltip
TOOL_SPECS = (
    ("brush", "Brush", "B", "Paint attention"),
    ("eraser", "Eraser", "E", "Erase attention"),
    ("fill", "Fill", "G", "Fill the enclosed mask region under the click (follows the mask: fills inside an "
                          "outline you painted, or all of the unmasked area)"),
    ("erase_fill", "Erase fill", "Shift+G", "Erase the connected mask region under the click"),
    ("wand", "Magic wand", "W", "Fill the object under the click: the connected region of the image whose colour "
                                "is within the tolerance of the clicked pixel's (follows the image)"),
    ("wand_erase", "Wand erase", "Shift+W", "Erase the connected region of similar colour under the click"),
    ("superpixel", "Superpixel", "S", "Click a region of similar colour or texture to add it to the mask; "
                                      "Shift+click or right-click removes it (the regions follow the image's "
                                      "edges; their size is set beside the wand's tolerance; each click is one "
                                      "undo step)"),
    ("click", "Click to mask", "C", "Click the object to mask it, or drag a box around it; click again to "
                                    "refine: a click adds what was missed, Shift+click or right-click takes "
                                    "away what should not be there (each click or box is one undo step; "
                                    "options beside the superpixel size)"),
    ("lasso", "Lasso", "L", "Fill a freehand outline"),
    ("lasso_erase", "Lasso erase", "Shift+L", "Erase a freehand outline"),
    ("pan", "Pan", "P", "Drag to move the view (or hold Space, or drag with the middle button)"),
)
# The Material Design Icons glyph, and badge, of each action: by tool name, then by the panel's
# attribute name. An erase variant is its tool with a minus badge; the heatmap is a flame, the mask a
# hatched square, so "mask from heatmap" is the mask with a flame; snapping to edges is a magnet; click
# to mask seeded from the heatmap carries a flame, a learned model is a brain.
ICONS: dict[str, tuple[str, ...]] = {
    "brush": ("brush",),
    "eraser": ("eraser",),
    "fill": ("format-color-fill",),
    "erase_fill": ("format-color-fill", "minus-circle"),
    "wand": ("auto-fix",),
    "wand_erase": ("auto-fix", "minus-circle"),
    "superpixel": ("select-group",),
    "click": ("cursor-default-click",),
    "lasso": ("lasso",),
    "lasso_erase": ("lasso", "minus-circle"),
    "pan": ("hand-back-right",),
    "smaller": ("minus-circle-outline",),
    "larger": ("plus-circle-outline",),
    "snap": ("magnet",),
    "seed_heatmap": ("cursor-default-click", "fire"),
    "click_model": ("brain",),
    "undo": ("undo",),
    "redo": ("redo",),
    "clear": ("delete-outline",),
    "invert": ("invert-colors",),
    "from_heatmap": ("texture-box", "fire"),
    "show_heatmap": ("fire",),
    "show_mask": ("texture-box",),
}
