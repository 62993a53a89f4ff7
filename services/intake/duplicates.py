"""Duplicate suggestion: Chinese-aware text similarity between a new case and recent open cases."""

from __future__ import annotations

import logging
from functools import lru_cache

import jieba
from rapidfuzz import fuzz

jieba.setLogLevel(logging.WARNING)

# words that say nothing about *what* is wrong; without this "请尽快处理" makes everything look alike
STOPWORDS = frozenset(
    "的 了 是 在 我 我们 有 和 就 都 也 很 请 尽快 处理 希望".split()
    + "社区 问题 一下 能 还 没有 要 这 那 ， 。 ！ ？ 、 ； ：".split()
)


@lru_cache(maxsize=65536)  # a district's month of open cases: segmenting is the costly part
def tokens(text: str) -> str:
    words = (w.strip() for w in jieba.cut(text or ""))
    return " ".join(w for w in words if w and w not in STOPWORDS)


def similarity(a: str, b: str) -> float:
    """0..100 on jieba words: word order matters little; the set ratio alone would call any text that
    contains all of a short one's words a perfect match, so it is averaged with the sorted ratio."""
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return 0.0
    return (fuzz.token_set_ratio(ta, tb) + fuzz.token_sort_ratio(ta, tb)) / 2


def rank(text: str, candidates: list[tuple[str, str, str, str]], threshold: float, top: int = 5) -> list[dict]:
    """candidates: (id, reference, title, full text) → the most similar at or above `threshold`."""
    scored = []
    for case_id, reference, title, other in candidates:
        score = similarity(text, other)
        if score >= threshold:
            scored.append({"id": case_id, "reference": reference, "title": title, "score": round(score, 1)})
    scored.sort(key=lambda d: -d["score"])
    return scored[:top]


def warm_up() -> None:
    """Load jieba's dictionary at start-up rather than in the first registration."""
    jieba.initialize()
