"""TopicTrie: RabbitMQ's topic matching ('*' one word, '#' zero or more), add/remove, cost."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amqpbroker.core.topic import TopicTrie, split_words


def reference_match(pattern: str, key: str) -> bool:
    """A plain recursive matcher over words: the specification the trie must agree with."""

    def words(text: str) -> list[str]:
        return text.split(".") if text else []

    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return match(p[1:], k) or (bool(k) and match(p, k[1:]))
        if not k:
            return False
        return (p[0] == "*" or p[0] == k[0]) and match(p[1:], k[1:])

    return match(words(pattern), words(key))


# (binding pattern, routing key, match?)
TOPIC_TABLE = [
    # literal words
    ("a.b.c", "a.b.c", True),
    ("a.b.c", "a.b", False),
    ("a.b", "a.b.c", False),
    ("a.b.c", "a.b.d", False),
    ("a", "a", True),
    ("a", "b", False),
    ("ab", "a.b", False),
    # the empty key and the empty pattern are zero words
    ("", "", True),
    ("", "a", False),
    ("a", "", False),
    ("*", "", False),
    ("#", "", True),
    ("#.#", "", True),
    ("#.*", "", False),
    ("*.#", "", False),
    # '*' is exactly one word, possibly empty
    ("*", "a", True),
    ("*", "a.b", False),
    ("*", ".", False),
    ("*.*", ".", True),
    ("*.*", "a.", True),
    ("*.*", ".b", True),
    ("a.*", "a.", True),
    ("a.*", "a", False),
    ("a.*.c", "a..c", True),
    ("a.*.c", "a.c", False),
    ("*.b.*", "a.b.c", True),
    ("*.*.*", "a.b", False),
    # empty words are words
    ("a..b", "a..b", True),
    ("a..b", "a.b", False),
    ("a.b.", "a.b.", True),
    ("a.b", "a.b.", False),
    (".", ".", True),
    (".", "", False),
    ("#", ".", True),
    ("#", "..", True),
    ("a.#", "a.", True),
    # '#' first
    ("#", "a.b.c", True),
    ("#.c", "c", True),
    ("#.c", "a.b.c", True),
    ("#.c", "a.c.b", False),
    ("#.c", "", False),
    ("#.b.c", "b.c", True),
    ("#.b.c", "a.b", False),
    # '#' last
    ("a.#", "a", True),
    ("a.#", "a.b", True),
    ("a.#", "a.b.c.d", True),
    ("a.#", "b.a", False),
    ("a.#", "", False),
    ("a.b.#", "a", False),
    # '#' in the middle
    ("a.#.b", "a.b", True),
    ("a.#.b", "a.x.b", True),
    ("a.#.b", "a.x.y.z.b", True),
    ("a.#.b", "a.b.b", True),
    ("a.#.b", "a.x.y", False),
    ("a.#.b", "a.b.c", False),
    ("a.#.b", "b", False),
    # several '#'
    ("#.#", "a.b.c", True),
    ("a.#.#.b", "a.b", True),
    ("a.#.#.b", "a.x.b", True),
    ("a.#.#.b", "a.x.y.z.b", True),
    ("a.#.#.b", "a.b.c", False),
    ("a.#.#.b", "a", False),
    ("#.b.#", "b", True),
    ("#.b.#", "a.b.c", True),
    ("#.b.#", "a.c", False),
    ("#.*.#", "a", True),
    ("#.*.#", "", False),
    # '*' and '#' together
    ("*.#", "a", True),
    ("*.#", "a.b.c", True),
    ("#.*", "a", True),
    ("a.*.#", "a", False),
    ("a.*.#", "a.b", True),
    ("a.*.#", "a.b.c.d", True),
    ("a.#.*", "a", False),
    ("a.#.*", "a.b", True),
    ("*.#.#", "a", True),
    ("#.#.*", "a.b", True),
    # wildcards in a routing key are literal words
    ("a", "*", False),
    ("*", "*", True),
    ("#", "#", True),
    ("a.#", "#", False),
    ("#.b", "#", False),
]


@pytest.mark.parametrize(("pattern", "key", "expected"), TOPIC_TABLE)
def test_topic_table(pattern, key, expected):
    trie: TopicTrie[str] = TopicTrie()
    trie.add(pattern, "q")
    assert (trie.match(key) == {"q"}) is expected


@pytest.mark.parametrize(("pattern", "key", "expected"), TOPIC_TABLE)
def test_reference_matcher_agrees_with_table(pattern, key, expected):
    assert reference_match(pattern, key) is expected


# RabbitMQ's deps/rabbit/test/routing_SUITE.erl, topic1/1.
RABBIT_BINDINGS = [
    ("a.b.c", "t1"),
    ("a.*.c", "t2"),
    ("a.#.b", "t3"),
    ("a.b.b.c", "t4"),
    ("#", "t5"),
    ("#.#", "t6"),
    ("#.b", "t7"),
    ("*.*", "t8"),
    ("a.*", "t9"),
    ("*.b.c", "t10"),
    ("a.#", "t11"),
    ("a.#.#", "t12"),
    ("b.b.c", "t13"),
    ("a.b.b", "t14"),
    ("a.b", "t15"),
    ("b.c", "t16"),
    ("", "t17"),
    ("*.*.*", "t18"),
    ("vodka.martini", "t19"),
    ("a.b.c", "t20"),
    ("*.#", "t21"),
    ("#.*.#", "t22"),
    ("*.#.#", "t23"),
    ("*", "t25"),
    ("#.b.#", "t26"),
    ("args-test", "t27"),  # bound twice with different arguments
    ("args-test", "t27"),
]
RABBIT_EXPECTED = {
    "a.b.c": "t1 t2 t5 t6 t10 t11 t12 t18 t20 t21 t22 t23 t26",
    "a.b": "t3 t5 t6 t7 t8 t9 t11 t12 t15 t21 t22 t23 t26",
    "a.b.b": "t3 t5 t6 t7 t11 t12 t14 t18 t21 t22 t23 t26",
    "": "t5 t6 t17",
    "b.c.c": "t5 t6 t18 t21 t22 t23 t26",
    "a.a.a.a.a": "t5 t6 t11 t12 t21 t22 t23",
    "vodka.gin": "t5 t6 t8 t21 t22 t23",
    "vodka.martini": "t5 t6 t8 t19 t21 t22 t23",
    "b.b.c": "t5 t6 t10 t13 t18 t21 t22 t23 t26",
    "nothing.here.at.all": "t5 t6 t21 t22 t23",
    "oneword": "t5 t6 t21 t22 t23 t25",
    "args-test": "t5 t6 t21 t22 t23 t25 t27",
}
RABBIT_REMOVED = [1, 5, 11, 19, 21, 27]  # 1-based positions in RABBIT_BINDINGS
RABBIT_EXPECTED_AFTER_REMOVAL = {
    "a.b.c": "t2 t6 t10 t12 t18 t20 t22 t23 t26",
    "a.b": "t3 t6 t7 t8 t9 t12 t15 t22 t23 t26",
    "a.b.b": "t3 t6 t7 t12 t14 t18 t22 t23 t26",
    "": "t6 t17",
    "b.c.c": "t6 t18 t22 t23 t26",
    "a.a.a.a.a": "t6 t12 t22 t23",
    "vodka.gin": "t6 t8 t22 t23",
    "vodka.martini": "t6 t8 t22 t23",
    "b.b.c": "t6 t10 t13 t18 t22 t23 t26",
    "nothing.here.at.all": "t6 t22 t23",
    "oneword": "t6 t22 t23 t25",
    "args-test": "t6 t22 t23 t25 t27",
}


def rabbit_trie() -> TopicTrie[str]:
    trie: TopicTrie[str] = TopicTrie()
    for pattern, queue in RABBIT_BINDINGS:
        trie.add(pattern, queue)
    return trie


@pytest.mark.parametrize(("key", "expected"), RABBIT_EXPECTED.items())
def test_rabbitmq_routing_suite(key, expected):
    assert rabbit_trie().match(key) == set(expected.split())


@pytest.mark.parametrize(("key", "expected"), RABBIT_EXPECTED_AFTER_REMOVAL.items())
def test_rabbitmq_routing_suite_after_removal(key, expected):
    trie = rabbit_trie()
    for position in RABBIT_REMOVED:
        trie.remove(*RABBIT_BINDINGS[position - 1])
    assert trie.match(key) == set(expected.split())


def test_rabbitmq_routing_suite_after_removing_everything():
    trie = rabbit_trie()
    for pattern, queue in RABBIT_BINDINGS:
        trie.remove(pattern, queue)
    for key in ("a.b.c", "b.b.c", ""):
        assert trie.match(key) == set()
    assert trie._root.children == {}
    assert trie._root.destinations == {}


words = st.sampled_from(["a", "b", "", "*", "#"])
patterns = st.lists(words, max_size=5).map(".".join)
keys = st.lists(st.sampled_from(["a", "b", "", "c"]), max_size=6).map(".".join)


@given(bindings=st.lists(patterns, max_size=8), key=keys)
def test_trie_agrees_with_reference_matcher(bindings, key):
    trie: TopicTrie[int] = TopicTrie()
    for index, pattern in enumerate(bindings):
        trie.add(pattern, index)
    expected = {index for index, pattern in enumerate(bindings) if reference_match(pattern, key)}
    assert trie.match(key) == expected


@given(
    kept=st.lists(patterns, max_size=6),
    removed=st.lists(patterns, max_size=6),
    key=keys,
)
def test_remove_undoes_add(kept, removed, key):
    trie: TopicTrie[str] = TopicTrie()
    for pattern in kept:
        trie.add(pattern, "kept")
    before = trie.match(key)
    for pattern in removed:
        trie.add(pattern, "removed")
    for pattern in removed:
        trie.remove(pattern, "removed")
    assert trie.match(key) == before


@given(bindings=st.lists(patterns, max_size=8))
def test_removing_every_binding_prunes_the_trie(bindings):
    trie: TopicTrie[int] = TopicTrie()
    for index, pattern in enumerate(bindings):
        trie.add(pattern, index % 3)
    for index, pattern in enumerate(bindings):
        trie.remove(pattern, index % 3)
    assert trie._root.children == {}
    assert trie._root.destinations == {}


def test_bindings_are_counted_per_destination():
    trie: TopicTrie[str] = TopicTrie()
    trie.add("a.*", "q1")
    trie.add("a.*", "q1")
    trie.add("a.*", "q2")
    assert trie.match("a.b") == {"q1", "q2"}
    trie.remove("a.*", "q1")
    assert trie.match("a.b") == {"q1", "q2"}
    trie.remove("a.*", "q1")
    assert trie.match("a.b") == {"q2"}
    trie.remove("a.*", "q2")
    assert trie.match("a.b") == set()
    assert trie._root.children == {}


def test_remove_keeps_nodes_still_in_use():
    trie: TopicTrie[str] = TopicTrie()
    trie.add("a.b", "short")
    trie.add("a.b.c", "long")
    trie.remove("a.b", "short")
    assert trie.match("a.b.c") == {"long"}
    assert trie.match("a.b") == set()
    assert list(trie._root.children["a"].children) == ["b"]
    trie.remove("a.b.c", "long")
    assert trie._root.children == {}


def test_removing_what_was_never_added_changes_nothing():
    trie: TopicTrie[str] = TopicTrie()
    trie.add("a.b", "q")
    trie.remove("a.b.c", "q")
    trie.remove("x.y", "q")
    trie.remove("a.b", "other")
    trie.remove("a", "q")
    assert trie.match("a.b") == {"q"}


def test_split_words():
    assert split_words("") == []
    assert split_words("a") == ["a"]
    assert split_words("a.") == ["a", ""]
    assert split_words(".") == ["", ""]
    assert split_words("a.b.c") == ["a", "b", "c"]


class CountingTrie(TopicTrie[str]):
    """Counts trie nodes visited while matching."""

    def __init__(self) -> None:
        super().__init__()
        self.visits = 0

    def _walk(self, node, words, index, found, hash_states):
        self.visits += 1
        super()._walk(node, words, index, found, hash_states)


def visits_for(trie: CountingTrie, key: str) -> tuple[set[str], int]:
    trie.visits = 0
    found = trie.match(key)
    return found, trie.visits


def test_matching_cost_does_not_grow_with_literal_bindings():
    trie = CountingTrie()
    for index in range(10_000):
        trie.add(f"stock.{index}.nyse", f"q{index}")
    found, visits = visits_for(trie, "stock.4242.nyse")
    assert found == {"q4242"}
    assert visits <= 3 * 4  # root + one node per word, with slack
    found, visits = visits_for(trie, "stock.unknown.nyse")
    assert found == set()
    assert visits <= 3 * 4


def test_matching_cost_with_wildcards_stays_small():
    trie = CountingTrie()
    for index in range(10_000):
        trie.add(f"{index}.a.b", f"q{index}")
    trie.add("#", "all")
    trie.add("*.a.*", "star")
    trie.add("7.#.b", "hash")
    found, visits = visits_for(trie, "7.a.b")
    assert found == {"q7", "all", "star", "hash"}
    assert visits <= 30


def test_repeated_hash_patterns_stay_polynomial():
    """'#.#.#...' against a long key revisits no (node, position) pair: a handful of visits
    per pair, where naive backtracking would take exponentially many."""
    trie = CountingTrie()
    trie.add("#.#.#.#.#.#.#.#.z", "never")
    trie.add("a.#", "a")
    found, visits = visits_for(trie, ".".join(["a"] * 40))
    assert found == {"a"}
    assert visits < 20 * 41 * 10


def test_remembered_matches_follow_binding_changes():
    trie: TopicTrie[str] = TopicTrie()
    trie.add("a.*", "q1")
    assert trie.match("a.b") == {"q1"}
    trie.add("#", "q2")
    assert trie.match("a.b") == {"q1", "q2"}
    trie.remove("a.*", "q1")
    assert trie.match("a.b") == {"q2"}
    trie.remove("#", "q2")
    assert trie.match("a.b") == set()


@given(
    steps=st.lists(
        st.tuples(st.booleans(), st.sampled_from(["a.*", "#", "a.b", "*.b", "a.#.b"])),
        max_size=12,
    ),
    keys=st.lists(st.sampled_from(["a.b", "a", "a.x.b", ""]), min_size=1, max_size=4),
)
def test_matches_after_any_adds_and_removes_equal_a_fresh_walk(steps, keys):
    trie: TopicTrie[str] = TopicTrie()
    bound: list[str] = []
    for adding, pattern in steps:
        for key in keys:
            trie.match(key)  # remembered, then possibly stale
        if adding:
            trie.add(pattern, pattern)
            bound.append(pattern)
        elif pattern in bound:
            trie.remove(pattern, pattern)
            bound.remove(pattern)
    for key in keys:
        assert trie.match(key) == {p for p in bound if reference_match(p, key)}
