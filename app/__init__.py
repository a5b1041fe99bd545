"""vmasim's web service (FastAPI) over the engine in :mod:`core`."""
