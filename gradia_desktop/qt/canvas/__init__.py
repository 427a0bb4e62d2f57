"""The painting room: the canvas widget that draws an image, its Grad-CAM overlay and the mask layer,
the interaction controller that turns mouse and keys into brush, eraser, fill and lasso edits on a
``core.mask_edit.MaskEditor``, the layer images it paints from, the heatmap provider that computes
CAMs off the GUI thread, and the tool panel with the tool preferences it remembers."""
