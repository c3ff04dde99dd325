"""A conversation's messages as a tree, over plain (id, parent id) pairs.

An answer's parent is its question, a question's parent the answer it follows; messages
with one parent are siblings (edits, regenerations). The shown branch is the path from
the first message down to the conversation's `active_leaf`. Pure functions: the services,
selectors, export and admin all walk the tree the same way.
"""
from collections import deque
from collections.abc import Hashable, Iterable
from typing import NamedTuple

Pairs = Iterable[tuple[Hashable, Hashable | None]]  # (id, parent id), oldest first


def path_up(parent_of: dict, tip) -> list:
    """Ids from `tip` up to its root, nearest first (empty when `tip` is unknown)."""
    path = []
    # Bounded by the tree's size: a bad row (a cycle) cannot hang the walk.
    while tip is not None and tip in parent_of and len(path) <= len(parent_of):
        path.append(tip)
        tip = parent_of[tip]
    return path


def newest_leaf(pairs: Pairs, start):
    """The end of the branch through `start`: its newest child, that one's newest child...
    (None when `start` is not in the tree)."""
    pairs = list(pairs)
    newest_child = {parent: child for child, parent in pairs}  # oldest first: the last one wins
    if not any(start == child for child, _ in pairs):
        return None
    leaf = start
    for _ in range(len(pairs)):
        if leaf not in newest_child:
            break
        leaf = newest_child[leaf]
    return leaf


def shown_tip(pairs: Pairs, active_leaf):
    """Where the shown branch ends: the stored leaf, else (conversations from before the
    tree, rows inserted by raw SQL) the newest message."""
    pairs = list(pairs)
    if active_leaf is not None and any(active_leaf == child for child, _ in pairs):
        return active_leaf
    return pairs[-1][0] if pairs else None


class Place(NamedTuple):
    """A message's place in the tree, for readers: depth from the first message, its
    number among its siblings (from 1) and how many siblings there are."""

    depth: int
    number: int
    siblings: int


def places(pairs: Pairs) -> dict:
    """{id: Place} for every message."""
    pairs = list(pairs)
    parent_of = dict(pairs)
    number, count, depth = {}, {}, {}
    for child, parent in pairs:
        count[parent] = number[child] = count.get(parent, 0) + 1
    for child, parent in pairs:
        # Parents are older than their children, so their depth is usually known already.
        depth[child] = depth[parent] + 1 if parent in depth else len(path_up(parent_of, parent))
    return {child: Place(depth[child], number[child], count[parent]) for child, parent in pairs}


def parents_first(parent_of: dict) -> list | None:
    """The ids of `parent_of` ({id: parent id or None}), each after its parent (breadth-first
    from the first messages, siblings in the given order); None when parent links loop or
    name an id that is not there."""
    children: dict = {}
    for key, parent in parent_of.items():
        children.setdefault(parent, []).append(key)
    order, queue = [], deque(children.get(None, ()))
    while queue:
        key = queue.popleft()
        order.append(key)
        queue.extend(children.get(key, ()))
    return order if len(order) == len(parent_of) else None
