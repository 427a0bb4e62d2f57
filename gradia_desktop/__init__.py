"""GRADIA Desktop: review Grad-CAM attention, paint where the model should look, retrain with GRADIA."""

__version__ = "0.1.0"
