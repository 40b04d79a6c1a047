"""The on-device agent: config, runtime, controllers, store and technician CLI."""
