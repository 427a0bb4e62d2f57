"""The sample browser: the filterable, sortable table of every sample (class, split, prediction,
quadrant, judgement, mask, IoU, annotation-queue priority), its Qt table model and filter proxy,
the lazy thumbnail loader, and the prefetcher that prepares the neighbours of the current row
(decoded image, mask layer, heatmap) on background threads."""
