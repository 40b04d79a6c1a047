"""Pure controllers: inputs + state + now -> relay commands + events with reasons."""
