"""CSV export of any series of the fleet store (raw readings or a roll-up) over a date range, streamed."""
