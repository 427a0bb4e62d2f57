"""The painting room: the canvas widget that draws an image, its Grad-CAM overlay and the mask's two
layers, the interaction controller that turns mouse and keys into brush, eraser, fill and lasso edits
of the "look here" or "don't look here" layer of a ``core.layered_mask_edit.LayeredMaskEditor``, the
layer images it paints from, the heatmap provider that computes CAMs off the GUI thread, and the tool
panel with the tool preferences it remembers."""
