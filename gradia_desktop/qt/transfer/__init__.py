"""Mask export and import dialogs (File > Export masks…, File > Import masks…): the same options as
``gradia export`` / ``gradia import``, run through ``core.export`` and ``core.mask_import`` with a
progress bar and Cancel."""
