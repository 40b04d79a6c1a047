"""The box's link to the fleet: outbox, MQTT client over TLS, and the service loop that joins them."""
