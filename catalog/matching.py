"""The index behind the official account's product replies: which on-shelf products a
customer's text names, in time that does not grow with the catalog.

Built once per catalog content version from plain rows, then only read (so threads may share
it). Two ways a product matches, as `catalog.selectors.product_matches` documents:

- one of its terms occurs in the text: an Aho-Corasick automaton (pyahocorasick, C) finds
  every term in the text in one pass over the text. Each term keeps only its best
  MAX_LIMIT products, so a word that half the catalog shares costs no more than a rare one;
- the whole text occurs in its title, subtitle or keywords: the products holding the text's
  rarest character pair are read best first (by sales), stopping at `limit` hits or after
  MAX_SCAN of them.

A product's score is the longest match (times ten) plus the match's weight; ties go to sales,
then the lower id. The best products of every term that occurred are the only candidates
needed: a product that none of its terms ranks in the first `limit` has `limit` better ones.
"""

import re
from array import array
from collections.abc import Iterable

import ahocorasick

MIN_TERM_CHARS = 2
MAX_LIMIT = 10  # the most matches one call may ask for
MAX_SCAN = 2000  # products tested for holding the whole text, at most
_SPLIT = re.compile(r"[\s,，、;；/|]+")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]{2,}")

Row = tuple[int, str, str, str, int]  # id, title, subtitle, keywords, sales


def product_terms(title: str, subtitle: str, keywords: str) -> dict[str, int]:
    """Words that name a product, each with a weight: the merchant's keywords count most,
    then the title, then the tails of its Chinese runs (不锈钢保温杯 → 保温杯, 温杯 ...),
    since Chinese product names end in the head noun a customer asks for."""
    terms: dict[str, int] = {}

    def add(term: str, weight: int) -> None:
        term = term.strip().lower()
        if len(term) >= MIN_TERM_CHARS and weight > terms.get(term, 0):
            terms[term] = weight

    for word in _SPLIT.split(keywords):
        add(word, 3)
    for text in (title, subtitle):
        add(text, 2)
        for word in _SPLIT.split(text):
            add(word, 2)
    for run in _CJK_RUN.findall(title):
        for start in range(1, len(run) - 1):
            add(run[start:], 1)
    return terms


class MatchIndex:
    """The terms automaton and the character-pair lists of one catalog content version."""

    def __init__(self, version: int, rows: Iterable[Row]) -> None:
        self.version = version
        # Best first: the order every list below keeps.
        rows = sorted(rows, key=lambda row: (-row[4], row[0]))
        self.ids = array("q", (row[0] for row in rows))
        self.haystacks = [f"{title} {subtitle} {keywords}".lower() for _, title, subtitle, keywords, _ in rows]

        by_term: dict[str, list[tuple[int, int]]] = {}
        pairs: dict[str, array] = {}
        for n, (_, title, subtitle, keywords, _) in enumerate(rows):
            for term, weight in product_terms(title, subtitle, keywords).items():
                by_term.setdefault(term, []).append((-weight, n))
            haystack = self.haystacks[n]
            for pair in {haystack[i:i + 2] for i in range(len(haystack) - 1)}:
                pairs.setdefault(pair, array("l")).append(n)
        self.pairs = pairs

        self.automaton = ahocorasick.Automaton()
        for term, entries in by_term.items():
            entries.sort()  # weight first, then rank (sales, id): the term's best products
            score = len(term) * 10
            self.automaton.add_word(term, tuple((score - w, n) for w, n in entries[:MAX_LIMIT]))
        if by_term:
            self.automaton.make_automaton()

    def __len__(self) -> int:
        return len(self.ids)

    def find(self, needle: str, *, limit: int) -> list[int]:
        """Ids of the best `limit` products named in `needle` (lowercase, no spaces)."""
        limit = min(limit, MAX_LIMIT)
        best: dict[int, int] = {}  # row -> score

        def offer(n: int, score: int) -> None:
            if score > best.get(n, 0):
                best[n] = score

        if self.automaton.kind == ahocorasick.AHOCORASICK:
            for _end, entries in self.automaton.iter(needle):
                for score, n in entries[:limit]:
                    offer(n, score)
        self._find_containing(needle, limit, offer)
        # Rows are numbered best first, so the row number breaks score ties by sales, then id.
        ranked = sorted(best, key=lambda n: (-best[n], n))[:limit]
        return [self.ids[n] for n in ranked]

    def _find_containing(self, needle: str, limit: int, offer) -> None:
        lists = [self.pairs.get(needle[i:i + 2]) for i in range(len(needle) - 1)]
        if not lists or any(rows is None for rows in lists):
            return  # some pair of the text occurs in no product
        score, hits = len(needle) * 10 + 2, 0
        for n in min(lists, key=len)[:MAX_SCAN]:
            if needle in self.haystacks[n]:
                offer(n, score)
                hits += 1
                if hits == limit:
                    return
