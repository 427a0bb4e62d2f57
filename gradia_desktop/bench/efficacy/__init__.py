"""The efficacy suite behind ``gradia bench --efficacy``: does guided retraining fix shortcuts it has
never seen? ``datasets`` generates two-class datasets that vary one thing at a time (the shortcut,
the objects and their contrast, how many training images carry masks and how loosely they were
drawn); ``suite`` trains a baseline and each guided recipe on every cell and seed, and writes the
table of test accuracy, attention IoU and energy and the shortcut-reliance score."""
