"""Model versions and retraining in the app: the Reasonability Matrix dock, the training dock (form,
per-quadrant weight table, live plots) and the QThread worker that runs ``training.trainer.train``
and turns its callbacks into signals, the versions list and the side-by-side comparison, the offer
to train a baseline, and ``ModelViews``, which wires these docks to the window's signals."""
