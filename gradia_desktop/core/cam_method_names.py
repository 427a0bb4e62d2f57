"""The CAM methods by name (training/cam_methods.py computes them), for forms and flags that must not load torch."""

CAM_METHODS = ("gradcam", "hirescam", "xgradcam", "layercam", "gradcam++")
TRAINABLE = ("gradcam", "hirescam", "xgradcam", "layercam")  # cheap, differentiable: can drive the attention loss
DEFAULT_METHOD = "gradcam"  # the paper's, and the app's heatmaps and metrics
LABELS = {"gradcam": "Grad-CAM", "hirescam": "HiResCAM", "xgradcam": "XGrad-CAM", "layercam": "LayerCAM",
          "gradcam++": "Grad-CAM++"}
