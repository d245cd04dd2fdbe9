"""Subscription tables (RFC 29): a subscriber's counted prefixes and a publisher's index of them.

Owns: ``Subscriptions`` (a subscriber's counted prefixes) and ``SubscriberIndex`` (a publisher's
prefixes, each with the set of pipes subscribed to it). ``pubsub.py`` (the socket types) and
``fanout.py`` (a publisher's delivery) both build on them.

Matching is by prefix. Both tables are a dict from prefix to its entry plus the sorted set of
prefix lengths in use: a message is matched with one dict lookup per distinct length (one in the
common case of a single subscription, or of ``b""``), which in Python beats walking a byte trie
node by node while giving the same answers.

Rules: layer L2; imports L0/L1 only; changed only on the owning socket's thread (under the
fan-out's lock for a publisher).
"""

from __future__ import annotations

from collections.abc import Iterable

from zlab.pipe import Pipe


class Subscriptions:
    """A subscriber's prefixes, counted: two subscribes of a topic need two unsubscribes."""

    __slots__ = ("counts", "everything", "lengths")

    def __init__(self) -> None:
        self.counts: dict[bytes, int] = {}
        self.lengths: list[int] = []  # distinct prefix lengths in use, ascending
        self.everything = False  # b"" is subscribed: every message matches

    def add(self, topic: bytes) -> bool:
        """Count one more subscription to ``topic``; True if it is new."""
        n = self.counts.get(topic, 0)
        self.counts[topic] = n + 1
        if n == 0:
            self._index()
            return True
        return False

    def remove(self, topic: bytes) -> bool:
        """Count one subscription less; True if none is left (False also if there was none)."""
        n = self.counts.get(topic, 0)
        if n == 0:
            return False
        if n == 1:
            del self.counts[topic]
            self._index()
            return True
        self.counts[topic] = n - 1
        return False

    def match(self, data: bytes) -> bool:
        """Whether some subscribed prefix starts ``data``."""
        counts = self.counts
        for n in self.lengths:
            if n > len(data):
                return False
            if data[:n] in counts:
                return True
        return False

    def __iter__(self):
        return iter(list(self.counts))

    def __len__(self) -> int:
        return len(self.counts)

    def _index(self) -> None:
        self.lengths = sorted({len(t) for t in self.counts})
        self.everything = b"" in self.counts


class SubscriberIndex:
    """A publisher's prefixes, each with the set of pipes subscribed to it.

    Subscriptions are a set per pipe, as in libzmq: a pipe subscribing twice to a topic is
    subscribed once (its subscriber counts them and cancels only the last).
    """

    __slots__ = ("by_pipe", "everyone", "invert", "lengths", "topics")

    def __init__(self) -> None:
        self.topics: dict[bytes, set[Pipe]] = {}
        self.by_pipe: dict[Pipe, set[bytes]] = {}
        self.lengths: list[int] = []
        #: the pipes subscribed to b"" when that is the only subscription (every message matches)
        self.everyone: set[Pipe] | None = None
        #: INVERT_MATCHING: messages go to the pipes that do not match (no "everyone" shortcut then)
        self.invert = False

    def add(self, topic: bytes, pipe: Pipe) -> bool:
        """Subscribe ``pipe`` to ``topic``; True if no pipe was subscribed to it before."""
        pipes = self.topics.get(topic)
        first = pipes is None
        if first:
            pipes = self.topics[topic] = set()
            self._index()
        pipes.add(pipe)
        self.by_pipe.setdefault(pipe, set()).add(topic)
        return first

    def remove(self, topic: bytes, pipe: Pipe) -> bool:
        """Unsubscribe ``pipe``; True if that was the topic's last pipe, or ``pipe`` was not subscribed
        to it (libzmq's XPUB reports such an unsubscribe too)."""
        pipes = self.topics.get(topic)
        if pipes is None or pipe not in pipes:
            return True
        pipes.discard(pipe)
        mine = self.by_pipe.get(pipe)
        if mine is not None:
            mine.discard(topic)
        if pipes:
            return False
        del self.topics[topic]
        self._index()
        return True

    def remove_pipe(self, pipe: Pipe) -> list[bytes]:
        """Forget every subscription of ``pipe``; the topics no pipe is subscribed to any more."""
        gone = []
        for topic in self.by_pipe.pop(pipe, ()):
            pipes = self.topics.get(topic)
            if pipes is not None:
                pipes.discard(pipe)
                if not pipes:
                    del self.topics[topic]
                    gone.append(topic)
        if gone:
            self._index()
        return gone

    def match(self, data: bytes) -> Iterable[Pipe]:
        """The pipes subscribed to some prefix of ``data``."""
        topics = self.topics
        lengths = self.lengths
        if len(lengths) == 1:  # one prefix length in use (often b"" only): one lookup
            n = lengths[0]
            return topics.get(data[:n], ()) if n <= len(data) else ()
        found: set[Pipe] | None = None
        for n in lengths:
            if n > len(data):
                break
            pipes = topics.get(data[:n])
            if pipes:
                found = pipes if found is None else found | pipes
        return found or ()

    def _index(self) -> None:
        self.lengths = sorted({len(t) for t in self.topics})
        self.everyone = self.topics[b""] if self.lengths == [0] and not self.invert else None
