"""The fleet's dashboard and REST API (FastAPI), served by `hameau-fleet serve --http` or `hameau-fleet web`."""
