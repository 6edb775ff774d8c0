"""What every exercise checker shares: the report, calling the learner's function safely."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Report", "attempt", "not_attempted"]


class Report:
    def __init__(self, title: str):
        self.title = title
        self.lines: list[str] = []
        self.ok = True

    def passed(self, case: str) -> None:
        self.lines.append(f"  ✓ {case}")

    def failed(self, case: str, why: str) -> None:
        self.ok = False
        self.lines.append(f"  ✗ {case}\n      {why}")

    def show(self) -> bool:
        print(self.title)
        print("\n".join(self.lines))
        print("All cases pass — well done." if self.ok else "Not yet: see the hints above.")
        return self.ok


def attempt(fn: Callable, *args: Any) -> tuple[str, Any]:
    """Call the learner's function: ('todo', None), ('error', exc) or ('ok', result)."""
    try:
        return "ok", fn(*args)
    except NotImplementedError:
        return "todo", None
    except Exception as exc:  # the learner's bug: report it, don't crash the notebook
        return "error", exc


def not_attempted(name: str) -> bool:
    print(f"{name}: not attempted yet — fill in the template cell above, then run this again.")
    return False
