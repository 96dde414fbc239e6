"""Sources: reading customer data where it lives into the engine, with a quarantine."""
