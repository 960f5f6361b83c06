"""Guideline gradings shared by a modality room and the clinical rules.

A neutral leaf room: its modules import only numpy and :mod:`heartprint.errors`, so that a modality
room (which measures) and :mod:`heartprint.clinical` (which interprets) grade with one table of
thresholds without importing each other (``docs/architecture.md``, rooms table; enforced by
``tests/test_architecture_imports.py``).

- :mod:`heartprint.guidelines.valves` — aortic stenosis and mitral regurgitation (ESC/EACTS 2021,
  EACVI/ASE 2017, EACVI 2013)
"""
