"""Things a transaction holds until it ends: handed over when the outermost transaction commits
(or just before), or given up when what they were queued in rolls back.

`hold_until_commit(key, committed=..., discarded=...)` makes `session.info[key]` such a list:
append to it in a transaction, and `committed(session, items)` is called with the items once the
outermost transaction has committed. `write_before_commit(key, write)` is the same list handed to
`write(session, items)` just before the outermost transaction commits, inside it (the audit chain,
bot/audit/chain.py, inserts its events there): what `write` does commits or rolls back with it.

SQLAlchemy's own commit and rollback events fire for a SAVEPOINT too (its RELEASE and its
ROLLBACK TO), so on their own they would hand items over before the transaction commits, and
forget them all when any savepoint rolls back. Here, for both:

- a released savepoint hands over nothing: its items wait for the outermost commit;
- a savepoint that rolls back gives up the items queued inside it (those of savepoints released
  inside it included) and only those: the list's length when the savepoint began is kept, and the
  list is cut back to it;
- the outermost transaction ending without its hand-over (a rollback, or `Session.close()`, which
  fires no rollback event) gives up whatever is left, so nothing is carried into the next one.

Each item goes exactly once either to its hand-over or to `discarded` (if given). `committed` and
`discarded` are called from the session's events: they must not raise, nor use the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

Handler = Callable[[Session, list[Any]], None]


def hold_until_commit(key: str, *, committed: Handler, discarded: Handler | None = None) -> None:
    """Hand the items of `session.info[key]` to `committed` when the outermost transaction
    commits; give those a rolled-back savepoint or transaction queued to `discarded`."""
    _hold(key, discarded)

    @event.listens_for(Session, "after_commit")
    def _hand_over(session: Session) -> None:
        # A savepoint's RELEASE fires after_commit too, while it is still the session's
        # nested transaction; the outermost commit fires it when none is left.
        if not session.in_nested_transaction():
            committed(session, session.info.pop(key, []))


def write_before_commit(key: str, write: Handler) -> None:
    """Hand the items of `session.info[key]` (if any) to `write` just before the outermost
    transaction commits, inside it; a rolled-back savepoint or transaction drops its own."""
    _hold(key, None)

    @event.listens_for(Session, "before_commit")
    def _hand_over(session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint's RELEASE: the items wait for the real commit
        items = session.info.pop(key, None)
        if items:
            write(session, items)


def _hold(key: str, discarded: Handler | None) -> None:
    """The savepoint bookkeeping of `session.info[key]`: what a rollback gives up."""
    marks = f"{key}:savepoints"  # savepoint -> the list's length when it began

    def give_up(session: Session, items: list[Any]) -> None:
        if items and discarded is not None:
            discarded(session, items)

    @event.listens_for(Session, "after_transaction_create")
    def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
        if transaction.nested:
            held = session.info.get(key)
            if held:  # none held: no mark, the savepoint's items start at 0
                session.info.setdefault(marks, {})[transaction] = len(held)

    @event.listens_for(Session, "after_soft_rollback")
    def _give_up_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
        # What was really rolled back: the nearest savepoint, or the transaction itself (a
        # flush's subtransaction that fails rolls back its enclosing one). A second rollback of
        # the same savepoint (a failed flush in it, then the `with` block's exit) cuts back to
        # the same mark: only what was queued since goes.
        rolled_back = previous_transaction
        while rolled_back.parent is not None and not rolled_back.nested:
            rolled_back = rolled_back.parent
        held = session.info.get(key)
        if not held:
            return
        if rolled_back.nested:
            mark = session.info.get(marks, {}).get(rolled_back, 0)
            items = held[mark:]
            del held[mark:]
        else:  # (normally already given up when the transaction ended, just before)
            items = session.info.pop(key)
        give_up(session, items)

    @event.listens_for(Session, "after_transaction_end")
    def _end(session: Session, transaction: SessionTransaction) -> None:
        # The outermost transaction's end: after its hand-over (which took the items) or its
        # rollback or close. What is left was not handed over. The marks live until here, as
        # after_soft_rollback comes after a savepoint's own after_transaction_end.
        if transaction.parent is None:
            session.info.pop(marks, None)
            give_up(session, session.info.pop(key, []))
