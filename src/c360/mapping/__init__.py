"""Mapping: source columns → fields of the shared customer model."""

from c360.mapping.detect import ColumnProfile, detect_columns

__all__ = ["ColumnProfile", "detect_columns"]
