"""Scraping a broker's Prometheus endpoint in tests: the text parsed with
``prometheus_client``'s parser into {(sample name, labels): value}."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    text: str


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Reply:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read().decode()
            return Reply(response.status, response.headers["content-type"], body)
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers["content-type"], error.read().decode())


class Scrape:
    """One scrape: ``value(name, **labels)``, ``types[family]``, ``labels_of(name)``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        self.types: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        return self.samples[(name, frozenset(labels.items()))]

    def label_sets(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for sample, labels in self.samples if sample == name]


def scrape(url: str) -> Scrape:
    reply = get(url)
    assert reply.status == 200, reply
    return Scrape(reply.text)
