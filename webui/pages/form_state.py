"""What every set-up form keeps between a failed submit and the page that shows it: the values as typed and the
problems found, by input name (messages for no particular input go to `general`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FormState:
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def add(self, name: str, message: str) -> None:
        """A message under input `name` (each message once)."""
        messages = self.errors.setdefault(name, [])
        if message not in messages:
            messages.append(message)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.general)

    def error_count(self) -> int:
        return sum(len(messages) for messages in self.errors.values()) + len(self.general)
