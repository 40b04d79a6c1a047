"""The safety copy: what keeps the village safe, in a small JSON file beside the database, written atomically.

It holds every state the agent saves (meter totals, controller states, among them a valve held shut by a
burst), the latched alarms with their evidence and the overrides with their expiry, under a generation
number shared with the database (the newer of the two wins at a restart). A write goes to a temporary file
in the same directory, is fsynced, renamed over the copy, and the directory is fsynced: a power cut leaves
either the old copy or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Written into every copy; a copy of another format is ignored (and said so).
FORMAT = 1


class SafetyCopy:
    """The safety copy of one database: load it, write it atomically, count writes and failures."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writes = 0
        self.failures = 0
        self.last_error: str | None = None

    def load(self) -> tuple[dict[str, Any] | None, str | None]:
        """(the copy, None), or (None, why there is none usable)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None, f"no safety copy at {self.path}"
        except OSError as exc:
            return None, f"cannot read the safety copy {self.path}: {exc.strerror or exc}"
        try:
            content = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return None, f"the safety copy {self.path} is not valid JSON ({exc})"
        if not isinstance(content, dict) or content.get("format") != FORMAT:
            return None, f"the safety copy {self.path} is not a format {FORMAT} copy"
        return content, None

    def write(self, content: Mapping[str, Any]) -> bool:
        """Replace the copy atomically and durably; False (and the reason in last_error) if it could not."""
        body = json.dumps({"format": FORMAT, **content}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o640)
            try:
                view = memoryview(body)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, self.path)
            directory = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as exc:
            self.failures += 1
            self.last_error = exc.strerror or str(exc)
            try:
                temporary.unlink()
            except OSError:
                pass
            return False
        self.writes += 1
        self.last_error = None
        return True
