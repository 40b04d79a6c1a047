"""`hameau-fleet serve`: the ingest core (MQTT in, store, acks out)."""
