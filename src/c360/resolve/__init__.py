"""Identity resolution: block → compare → score (rules + Fellegi–Sunter) → cluster."""
