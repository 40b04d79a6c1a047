"""What the field technician runs over SSH: status, relay overrides, alarms, and the wiring probe."""
