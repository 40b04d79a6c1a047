"""The fleet controller and the wire protocol shared with the boxes."""
