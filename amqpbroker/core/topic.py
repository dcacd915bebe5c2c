"""Topic routing with a trie of binding-key words.

Theory of operation: binding keys are split on '.' (the empty key is zero words, as in
RabbitMQ) and stored along a path of trie nodes; each node holds the destinations whose
key ends there.  Matching a routing key walks the trie word by word trying the literal word,
then '*' (exactly one word), then '#' (zero or more words), so the cost depends on the key
and on the patterns that can match it, not on the number of bindings.  Publishers reuse a
few routing keys, so the sets matched are remembered until the bindings change.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


def split_words(key: str) -> list[str]:
    """RabbitMQ's split: '' is no words; 'a.' is ['a', '']."""
    return key.split(".") if key else []


class _Node(Generic[T]):
    __slots__ = ("children", "destinations")

    def __init__(self) -> None:
        self.children: dict[str, _Node[T]] = {}
        self.destinations: dict[T, int] = {}  # destination -> number of bindings ending here


MATCH_CACHE_SIZE = 1024  # routing keys whose matches are remembered (then forgotten at once)


class TopicTrie(Generic[T]):
    """Binding patterns to destinations; ``match(routing_key)`` returns the matching set."""

    def __init__(self) -> None:
        self._root: _Node[T] = _Node()
        self._matches: dict[str, frozenset[T]] = {}

    def add(self, pattern: str, destination: T) -> None:
        self._matches.clear()
        node = self._root
        for word in split_words(pattern):
            node = node.children.setdefault(word, _Node())
        node.destinations[destination] = node.destinations.get(destination, 0) + 1

    def remove(self, pattern: str, destination: T) -> None:
        self._matches.clear()
        path = [self._root]
        words = split_words(pattern)
        for word in words:
            child = path[-1].children.get(word)
            if child is None:
                return
            path.append(child)
        leaf = path[-1]
        count = leaf.destinations.get(destination, 0)
        if count <= 1:
            leaf.destinations.pop(destination, None)
        else:
            leaf.destinations[destination] = count - 1
        # prune empty nodes bottom-up
        for depth in range(len(words), 0, -1):
            node = path[depth]
            if node.children or node.destinations:
                break
            del path[depth - 1].children[words[depth - 1]]

    def match(self, routing_key: str) -> frozenset[T]:
        matched = self._matches.get(routing_key)
        if matched is None:
            found: set[T] = set()
            self._walk(self._root, split_words(routing_key), 0, found, set())
            if len(self._matches) >= MATCH_CACHE_SIZE:
                self._matches.clear()
            matched = self._matches[routing_key] = frozenset(found)
        return matched

    def _walk(
        self,
        node: _Node[T],
        words: list[str],
        index: int,
        found: set[T],
        hash_states: set[tuple[int, int]],
    ) -> None:
        children = node.children
        hash_node = children.get("#")
        if index == len(words):
            found.update(node.destinations)
            if hash_node is not None:
                self._walk_hash(hash_node, words, index, found, hash_states)
            return
        literal = children.get(words[index])
        if literal is not None:
            self._walk(literal, words, index + 1, found, hash_states)
        star = children.get("*")
        if star is not None:
            self._walk(star, words, index + 1, found, hash_states)
        if hash_node is not None:
            for next_index in range(index, len(words) + 1):
                self._walk_hash(hash_node, words, next_index, found, hash_states)

    def _walk_hash(
        self,
        node: _Node[T],
        words: list[str],
        index: int,
        found: set[T],
        hash_states: set[tuple[int, int]],
    ) -> None:
        """Enter a '#' node at ``index`` once only: patterns like '#.#.#' would otherwise
        revisit the same (node, position) exponentially often."""
        state = (id(node), index)
        if state not in hash_states:
            hash_states.add(state)
            self._walk(node, words, index, found, hash_states)
