"""`c360 serve`: the REST API over a project's store — the 360 view, search, explain, the change
feed and real-time writes — behind API keys."""
