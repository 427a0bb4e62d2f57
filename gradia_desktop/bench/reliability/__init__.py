"""The reliability harness behind ``gradia bench --reliability`` (issue 11, "nothing lost, nothing let in").

Kill trials: ``crash_trials`` SIGKILLs a process that saves, clears and judges (``crash_child``) at
random moments and checks that every acknowledged write survived; ``process_kills`` does the same to
``gradia train`` and ``gradia export``. The killed processes are forked from a preloaded ``zygote``,
so a trial pays no interpreter start-up. Probes: ``corpus`` writes hostile image files and
``hostile_runs`` sends each through init, train, eval, export and the GUI's load; ``damage_probes``
damages project databases, fills the disk, locks and write-protects projects and feeds hostile
imports; all probe steps run in ``step_child`` processes (``step_runner``) under a memory cap and an
alarm. ``report`` runs everything and writes docs/RELIABILITY.md. POSIX only (fork, signals, rlimits).
"""
