"""The dashboard's data: queries on the fleet store returning frozen dataclasses, one module per page part."""
