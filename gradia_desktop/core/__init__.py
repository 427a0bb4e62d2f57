"""Headless core: project store, images and masks, metrics, demo data. Never imports Qt or torch."""
