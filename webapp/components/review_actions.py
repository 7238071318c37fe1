"""What the Review page's keys and buttons do: label, skip, undo, flag, back and forward.

One :class:`ReviewActions` is made on each run of the page, for the expert
and the display settings of that run; its methods are the buttons' and the
candidate panel's callbacks. They work on the page's ``st.session_state``:
``review_history`` (a :class:`~webapp.components.review_history.ReviewHistory`),
``view`` (the :class:`~webapp.services.review.CandidateView` on screen),
``shown_views`` (those shown lately, by id), ``flags`` (flags waiting for
a label), ``saved_preferences``, ``comment`` and ``shown_at``; and leave
what the page shows next in ``previous``, ``flash`` or ``toast``.

A key names the candidate it was pressed on. The screen may have moved on
before it arrives (a filter changed while the key was pressed): a label,
skip or flag still goes to the candidate the expert saw, and the page says
so; a move through the session (back, forward, undo) is refused with a
message, as it would start from another candidate than the one seen.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import MutableMapping
from typing import Any

from starcnet_core.errors import UserInputError
from webapp.components.review_history import ReviewHistory
from webapp.services.auth import SignedIn
from webapp.services.database import Database
from webapp.services.preferences import save_preferences
from webapp.services.review import CandidateView, labels_and_consensus, submit_label, undo_last_label

__all__ = ["KEPT_VIEWS", "ReviewActions"]

#: Candidates shown lately whose keys are still taken after the screen moved on.
KEPT_VIEWS = 20
_LABELS = ("1", "2", "3", "4", "unsure")


@dataclasses.dataclass
class ReviewActions:
    """The Review page's actions for one run.

    Parameters
    ----------
    state : mapping
        ``st.session_state`` (a dict in tests).
    database : Database
    expert : SignedIn
    blind : bool
        Whether scores and others' labels are hidden (stored with each label).
    blind_imposed : bool
        Whether an admin's blind campaign imposes it.
    """

    state: MutableMapping[str, Any]
    database: Database
    expert: SignedIn
    blind: bool
    blind_imposed: bool

    @property
    def history(self) -> ReviewHistory:
        return self.state["review_history"]

    def shown(self, view: CandidateView) -> None:
        """``view`` is on screen now (kept among the :data:`KEPT_VIEWS` latest for late keys)."""
        self.state["view"] = view
        kept = self.state.setdefault("shown_views", {})
        kept.pop(view.candidate_id, None)
        kept[view.candidate_id] = view  # newest last
        while len(kept) > KEPT_VIEWS:
            kept.pop(next(iter(kept)))

    def _on_screen(self, view: CandidateView) -> bool:
        return view.candidate_id == self.history.on_screen

    def _done(self, view: CandidateView) -> None:
        """``view``'s candidate was labelled or skipped: the next one comes if it was on screen."""
        if not self._on_screen(view):
            self.history.done_elsewhere(view.candidate_id)
            return
        self.history.advance(view.candidate_id)
        self.state.pop("shown_at", None)
        self.state["comment"] = ""

    def label(self, label_class: str, view: CandidateView | None = None) -> None:
        """Store the expert's label of ``view`` (default: the candidate on screen)."""
        state = self.state
        view = view or state["view"]
        on_screen = self._on_screen(view)
        flagged = state.setdefault("flags", {}).pop(view.candidate_id, view.flagged)
        try:
            with self.database.sessions() as session:
                submit_label(
                    session,
                    view,
                    expert_id=self.expert.expert_id,
                    label_class=label_class,
                    comment=state.get("comment", "") if on_screen else "",
                    seconds_spent=time.monotonic() - state.get("shown_at", time.monotonic())
                    if on_screen
                    else None,
                    blind=self.blind,
                    flagged=flagged,
                    blind_imposed=self.blind_imposed,
                )
        except UserInputError as error:
            state["flash"] = str(error)
            return
        with self.database.read_sessions() as session:
            labels, summary = labels_and_consensus(session, view.candidate_id)
        mine = labels.pop(self.expert.name, label_class)
        others = ", ".join(f"{name} {c}" for name, c in sorted(labels.items())) or "nobody else yet"
        consensus = (summary or {}).get("consensus") or "none"
        flag_text = " · flagged" if flagged else ""
        state["previous"] = (
            f"Previous #{view.source_id}: you {mine}{flag_text} · others: {others} · consensus {consensus}"
        )
        self._done(view)

    def skip(self, view: CandidateView | None = None) -> None:
        """Skip ``view`` (default: the candidate on screen) for this sign-in, kept with the expert at once."""
        state = self.state
        view = view or state["view"]
        on_screen = self._on_screen(view)
        self.history.skip(view.candidate_id)
        # kept at once (a key reruns only the candidate's part of the page): a reload brings none back
        kept = dataclasses.replace(state["saved_preferences"], skipped=tuple(sorted(self.history.skipped)))
        with self.database.sessions() as session:
            save_preferences(session, self.expert.expert_id, kept)
        state["saved_preferences"] = kept
        if on_screen:
            state.pop("shown_at", None)
            state["comment"] = ""

    def undo(self) -> None:
        """Retract the expert's last label; its candidate comes back on screen (``→`` goes on)."""
        try:
            with self.database.sessions() as session:
                candidate_id = undo_last_label(session, self.expert.expert_id)
        except UserInputError as error:
            self.state["flash"] = str(error)
            return
        self.history.show_here(candidate_id)
        self.state.pop("shown_at", None)

    def flag(self, view: CandidateView | None = None) -> None:
        """Flag ``view`` (or remove its flag): stored with the label to come, or with the label given."""
        state = self.state
        view = view or state["view"]
        flags = state.setdefault("flags", {})
        flagged = not flags.get(view.candidate_id, view.flagged)
        if view.my_label is None:
            flags[view.candidate_id] = flagged
            state["toast"] = "flagged: stored with your label" if flagged else "flag removed"
            return
        # already labelled: the same answer again, now with (or without) the flag
        with self.database.sessions() as session:
            submit_label(
                session,
                view,
                expert_id=self.expert.expert_id,
                label_class=view.my_label,
                comment=state.get("comment", "") if self._on_screen(view) else "",
                blind=self.blind,
                flagged=flagged,
                blind_imposed=self.blind_imposed,
            )
        state["toast"] = (
            f"#{view.source_id} {'flagged' if flagged else 'no longer flagged'} (your label {view.my_label})"
        )

    def back(self) -> None:
        """Show the candidate seen before this one."""
        if not self.history.back():
            self.state["toast"] = "nothing before this candidate in this session"
            return
        self.state.pop("shown_at", None)

    def forward(self) -> None:
        """Show the candidate seen after this one."""
        if not self.history.forward():
            self.state["toast"] = "no later candidate seen: label or skip to go on"
            return
        self.state.pop("shown_at", None)

    def on_key(self) -> None:
        """A key from the candidate panel (``state["candidate_view"]["key"]``), each taken once.

        ``{"action", "candidate_id", "seq"}``: the action on the candidate the
        key was pressed on (see the module's notes for a screen that moved on).
        """
        state = self.state
        event = (state.get("candidate_view") or {}).get("key") or {}
        if not event or event.get("seq") == state.get("last_key_seq"):
            return
        state["last_key_seq"] = event.get("seq")
        action, pressed_on = event.get("action"), event.get("candidate_id")
        view = state.get("view")
        if view is not None and pressed_on == view.candidate_id:
            moves = {"undo": self.undo, "back": self.back, "forward": self.forward}
            if action in moves:
                moves[action]()
            else:
                self._on_candidate(action, view)
            return
        seen = state.get("shown_views", {}).get(pressed_on)
        if seen is None or action not in (*_LABELS, "skip", "flag"):
            state["toast"] = "key not taken: the candidate changed before it arrived; press it again"
            return
        state.pop("toast", None)
        self._on_candidate(action, seen)
        if "flash" not in state:
            done = state.pop("toast", None) or ("skipped" if action == "skip" else f"labelled {action}")
            state["toast"] = f"#{seen.source_id}: {done} (the key was pressed before the screen changed)"

    def _on_candidate(self, action: str, view: CandidateView) -> None:
        if action in _LABELS:
            self.label(action, view)
        elif action == "skip":
            self.skip(view)
        elif action == "flag":
            self.flag(view)
