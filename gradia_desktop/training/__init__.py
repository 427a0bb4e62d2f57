"""Torch side: models, batched Grad-CAM, the GRADIA loss and the trainer. Never imports Qt."""
