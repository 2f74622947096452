"""Shared test settings: the smoke budget, the CPU, no progress bars."""

import os

os.environ["GANCOURSE_BUDGET"] = "smoke"
os.environ.setdefault("GANCOURSE_DEVICE", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")
