"""paycancel-antom (placeholder while the package is written)."""
