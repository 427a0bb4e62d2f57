"""The project database's tables. One file so the whole storage model reads at a glance.

On-disk layout and the rules that keep rows and files consistent: docs/storage.md.
"""

SCHEMA_VERSION = 3
DB_NAME = "project.sqlite"

# Added in version 2. Each mask write goes to a new file name, so the row can switch files in one commit
# (core/mask_files.py). A mask without a row here is in masks/<sample_id>.png: the name `init` and
# version 1 use.
MASK_FILES_TABLE = """CREATE TABLE mask_files (
    sample_id INTEGER PRIMARY KEY REFERENCES masks(sample_id),
    file TEXT NOT NULL UNIQUE           -- a name inside masks/, e.g. 7-3.png
)"""

# Added in version 3. A mask may also mark what the model must NOT look at (core/mask_layers.py); its
# file then holds both layers, and this row counts the "don't look here" pixels. A mask row may have
# no "look here" pixels at all (masks.pixels = 0) when the expert marked only what to avoid.
MASK_AVOID_TABLE = """CREATE TABLE mask_avoid (
    sample_id INTEGER PRIMARY KEY REFERENCES masks(sample_id),
    pixels INTEGER NOT NULL             -- "don't look here" pixels in the sample's mask file
)"""

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE classes (idx INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE samples (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,          -- relative to the images root, '/'-separated
    class_idx INTEGER NOT NULL REFERENCES classes(idx),
    split TEXT NOT NULL CHECK (split IN ('train', 'val', 'test')),
    width INTEGER NOT NULL,
    height INTEGER NOT NULL
);
CREATE INDEX samples_split ON samples(split, class_idx);
CREATE TABLE masks (                    -- a row exists iff the sample has a mask; its file: see mask_files
    sample_id INTEGER PRIMARY KEY REFERENCES samples(id),
    pixels INTEGER NOT NULL,            -- "look here" pixels, for coverage without reading the PNG
    source TEXT NOT NULL,               -- 'import' or 'painted'
    updated REAL NOT NULL
);
CREATE TABLE versions (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES versions(id),
    created REAL NOT NULL,
    status TEXT NOT NULL,               -- running, done, failed, cancelled
    mode TEXT NOT NULL,
    arch TEXT NOT NULL,
    cam_layer TEXT NOT NULL,
    image_size INTEGER NOT NULL,
    config TEXT NOT NULL,               -- JSON of the full training configuration
    checkpoint TEXT,                    -- relative to the project folder
    best_epoch INTEGER,
    metrics TEXT,                       -- JSON of the final metrics
    note TEXT
);
CREATE TABLE epochs (
    version_id INTEGER NOT NULL REFERENCES versions(id),
    epoch INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    PRIMARY KEY (version_id, epoch)
);
CREATE TABLE predictions (
    version_id INTEGER NOT NULL REFERENCES versions(id),
    sample_id INTEGER NOT NULL REFERENCES samples(id),
    pred INTEGER NOT NULL,
    confidence REAL NOT NULL,
    cam BLOB NOT NULL,                  -- float16 Grad-CAM grid of the predicted class, ReLU, min-max
    cam_h INTEGER NOT NULL,
    cam_w INTEGER NOT NULL,
    iou REAL, energy REAL, pointing INTEGER,   -- NULL where the sample had no mask
    PRIMARY KEY (version_id, sample_id)
);
CREATE TABLE judgements (               -- human judgements only; suggestions are computed
    version_id INTEGER NOT NULL REFERENCES versions(id),
    sample_id INTEGER NOT NULL REFERENCES samples(id),
    reasonable INTEGER NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (version_id, sample_id)
);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
""" + MASK_FILES_TABLE + ";\n" + MASK_AVOID_TABLE + ";\n"

# SQL that upgrades a database of version N to N + 1, run in one transaction on a writable open.
MIGRATIONS = {1: MASK_FILES_TABLE, 2: MASK_AVOID_TABLE}
# The version that added each table that version 1 lacks, and the SQL that makes it.
ADDED_IN = {"mask_files": 2, "mask_avoid": 3}
ADDED_TABLES = {"mask_files": MASK_FILES_TABLE, "mask_avoid": MASK_AVOID_TABLE}
