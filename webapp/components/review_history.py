"""What one review session has seen and skipped: back and forward through it, and the queue ahead.

The Review page keeps one :class:`ReviewHistory` in ``st.session_state``.
Candidates shown are appended to :attr:`~ReviewHistory.seen` (``←``/``→``
move :attr:`~ReviewHistory.position` through them); the queue ahead is a
short list of ids from :func:`webapp.services.review.next_candidates`,
refilled when it runs out and emptied when the filters change; skipped ids
are left out of every refill of this sign-in. No Streamlit and no database
here: the page passes the refill as a function.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

__all__ = ["ReviewHistory"]

#: ``refill(skipped)``: the next queue entries (ids) for the current filters, leaving out ``skipped``.
Refill = Callable[[set[int]], list[int]]


@dataclass
class ReviewHistory:
    """The candidates of one review session.

    Attributes
    ----------
    seen : list of int
        Candidate ids in the order they were shown (a candidate opened from
        elsewhere, or brought back by undo, is inserted where the expert is).
    position : int
        Index in :attr:`seen` of the candidate on screen; ``len(seen)`` means
        the queue's head comes next.
    queue : list of int
        The queue ahead for :attr:`filters`; its head is the candidate on
        screen once it has joined :attr:`seen`.
    skipped : set of int
        Skipped in this sign-in: never brought back by a refill.
    filters : hashable
        What the queue was built for; another value empties it.
    """

    seen: list[int] = field(default_factory=list)
    position: int = 0
    queue: list[int] = field(default_factory=list)
    skipped: set[int] = field(default_factory=set)
    filters: Hashable = None

    def use_filters(self, filters: Hashable) -> None:
        """Queue for ``filters``: when they changed, the new queue's head comes next (``←`` still reaches the others)."""
        if filters != self.filters:
            self.filters = filters
            self.queue = []
            self.position = len(self.seen)

    def current(self, refill: Refill) -> int | None:
        """The candidate on screen: a seen one (after ``←``), else the queue's head, which joins :attr:`seen`.

        ``None`` when the queue is empty even after a refill.
        """
        if self.position < len(self.seen):
            return self.seen[self.position]
        if not self.queue:
            self.queue = list(refill(self.skipped))
        if not self.queue:
            return None
        self.seen.append(self.queue[0])
        self.position = len(self.seen) - 1
        return self.seen[-1]

    @property
    def on_screen(self) -> int | None:
        """The candidate on screen, without refilling (``None`` before :meth:`current`)."""
        return self.seen[self.position] if self.position < len(self.seen) else None

    @property
    def previous_id(self) -> int | None:
        """What ``←`` brings."""
        return self.seen[self.position - 1] if 0 < self.position <= len(self.seen) else None

    @property
    def following_id(self) -> int | None:
        """What ``→`` brings: a later candidate seen."""
        return self.seen[self.position + 1] if self.position + 1 < len(self.seen) else None

    def next_id(self) -> int | None:
        """What a label or a skip brings: the next seen candidate, else the queue entry after the head."""
        if self.following_id is not None:
            return self.following_id
        queue = self.queue
        return queue[1] if len(queue) > 1 and queue[0] == self.on_screen else None

    def advance(self, candidate_id: int) -> None:
        """``candidate_id``, the one on screen, is done (labelled or skipped): go on to the next one."""
        if self.queue and self.queue[0] == candidate_id:
            self.queue.pop(0)
        self.position += 1

    def done_elsewhere(self, candidate_id: int) -> None:
        """``candidate_id``, no longer on screen, was labelled or skipped: it leaves the queue ahead."""
        if candidate_id in self.queue and candidate_id != self.on_screen:
            self.queue.remove(candidate_id)

    def skip(self, candidate_id: int) -> None:
        """Skip ``candidate_id``: kept out of this sign-in's queues; the next one comes if it was on screen."""
        self.skipped.add(candidate_id)
        if candidate_id == self.on_screen:
            self.advance(candidate_id)
        else:
            self.done_elsewhere(candidate_id)

    def back(self) -> bool:
        """Show the candidate seen before; ``False`` when there is none."""
        if self.position == 0:
            return False
        self.position -= 1
        return True

    def forward(self) -> bool:
        """Show the candidate seen after; ``False`` when none was seen after it."""
        if self.position + 1 >= len(self.seen):
            return False
        self.position += 1
        return True

    def show_here(self, candidate_id: int) -> None:
        """Put ``candidate_id`` on screen where the expert is (opened from elsewhere, or an undone label); ``→`` goes on."""
        self.seen.insert(self.position, candidate_id)
