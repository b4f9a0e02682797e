"""Triage's tables, one module per part (each part adds its import here)."""
