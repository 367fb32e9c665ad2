"""The "train your own model" plan: how many of each digit to draw and which one to ask for next."""

from __future__ import annotations

from dataclasses import dataclass

from digitlab.registry import RegistryError, check_name


class InvalidSetNameError(ValueError):
    """Raised when a custom set name cannot also be a registry model name."""


def check_set_name(name: str) -> str:
    """Return a stripped set name usable as a model name (a set names its model), or raise."""
    name = (name or "").strip()
    try:
        check_name(name)  # the registry's rule for model names: one rule for both
        if name == "digits":
            raise RegistryError("'digits' is the shared model")
    except RegistryError:
        raise InvalidSetNameError(
            f"{name!r} cannot name a model: use letters, digits, '_', '-' or '.', start with a "
            "letter or digit, and pick something other than 'digits'") from None
    return name


@dataclass
class CollectionPlan:
    """Ask for `per_digit` drawings of each digit, always the digit that is furthest behind."""

    set_name: str
    per_digit: int = 10

    def done(self, counts: dict[int, int]) -> int:
        """How many of the wanted drawings exist (extra ones of a digit do not count)."""
        return sum(min(counts.get(digit, 0), self.per_digit) for digit in range(10))

    @property
    def total(self) -> int:
        """How many drawings the plan wants in all."""
        return 10 * self.per_digit

    def complete(self, counts: dict[int, int]) -> bool:
        """True when every digit has its share."""
        return self.done(counts) >= self.total

    def next_digit(self, counts: dict[int, int], last: int | None = None) -> int | None:
        """The digit to ask for: the fewest drawn first, cycling on from the last; None if done."""
        start = 0 if last is None else (last + 1) % 10
        order = [(start + offset) % 10 for offset in range(10)]
        wanted = [digit for digit in order if counts.get(digit, 0) < self.per_digit]
        if not wanted:
            return None
        return min(wanted, key=lambda digit: counts.get(digit, 0))
