"""Hotspot clustering: complaint texts as words (jieba), similar texts of one area and category grouped together.

Pure functions, no database: `terms` segments one text once (its result is stored per complaint), `cluster` groups
documents already split by area and category, `draft_title` names a group by its most frequent words, and
`bcubed`/`pairwise` score a clustering against gold labels (the benchmark and the quality test use them).

Clustering is single-pass and centroid based: documents in time order join the most similar existing cluster when
the cosine of their TF-IDF vector with the cluster's centroid reaches `THRESHOLD`, else start one. Candidates come
from an inverted index of the clusters' words, so a community's 10,000 open complaints cost a few words each.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

THRESHOLD = 0.15
# IDF smoothed by pseudo-documents in which every word occurs at a low rate: a village's few dozen open complaints
# tell too little about which words are rare, and a matter reported by a third of them must not weigh little.
PRIOR_DOCS, PRIOR_RATE = 200, 0.01
_WORD = re.compile(r"[\u4e00-\u9fff]|[a-z]{2,}")
# Words every complaint uses: asking, greeting, time and place fillers, pronouns.
STOPWORDS = frozenset("""
    希望 请 请问 能不能 能否 可以 一下 反映 反应 问题 情况 你好 您好 谢谢 麻烦 尽快 及时 处理 解决 管管 管一管 一管
    我们 我家 我 你们 他们 大家 有人 有 没有 没 不 很 太 都 也 还 就 又 再 才 了 的 地 得 着 过 在 是 和 与 给 把 被
    让 从 到 对 向 里 上 下 前 后 边 这 那 这个 那个 这些 那些 什么 怎么 怎么办 为什么 现在 最近 已经 一直 经常 天天
    每天 每次 好几 好几天 好多 很多 多 几个 好几个 一些 个 事 事情 这事 个事 说 想 要 需要 应该 能 会 村里 村 小区
    社区 居民 业主 住户 楼里 这里 那里 这边 那边 附近 旁边 门口 楼下 楼上 一 二 三 帮助 帮忙 协调 出面 组织 商量
    规范 要求 建议 申请 万一 影响 安全 隐患 存在 严重 非常 特别 实在 真的 还是 还有 而且 但是 可是 所以 因为
    几条 好几条 几户 好几户 几次 好几次
""".split())
# The same thing said in other words, mapped to one word (so 电瓶车 and 电动车 count as one).
SYNONYMS = {
    "电瓶车": "电动车", "电动": "电动车", "动车": "电动车", "三轮车": "电动车", "电动三轮车": "电动车",
    "非机动车": "电动车",
    "狗": "犬", "狗狗": "犬", "大狗": "犬", "养狗": "犬", "遛狗": "犬", "养犬": "犬", "犬只": "犬", "宠物狗": "犬",
    "狗绳": "拴绳", "牵绳": "拴绳", "狗链": "拴绳", "栓": "拴", "牵": "拴", "拴养": "拴绳",
    "拉线": "拉电线", "私拉": "拉电线", "乱拉": "拉电线", "电线": "拉电线", "插线板": "拉电线", "充电线": "拉电线",
    "房顶": "屋顶", "楼顶": "屋顶", "顶楼": "屋顶", "顶层": "屋顶", "屋面": "屋顶",
    "渗水": "漏水", "漏": "漏水",
    "吵": "噪音", "吵闹": "噪音", "扰民": "噪音", "声音": "噪音", "音响": "噪音", "音箱": "噪音",
    "垃圾桶": "垃圾", "垃圾站": "垃圾", "垃圾清运": "垃圾",
    "清理": "清运", "拉走": "清运", "收": "清运",
    "灯": "路灯", "不亮": "路灯", "灭": "路灯",
    "停车费": "停车收费", "收费": "停车收费",
    "车棚": "停车棚", "停放": "停车",
    "坑洼": "坑", "坑坑洼洼": "坑", "大坑": "坑", "塌": "坑",
    "油烟味": "油烟",
    "排水沟": "排水", "下水道": "排水", "不通": "堵",
}
_jieba = None


def _segmenter():
    global _jieba
    if _jieba is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)  # its dictionary-loading banner is not ours to print
        jieba.initialize()
        _jieba = jieba
    return _jieba


def terms(text: str) -> list[str]:
    """The words of a complaint's text that can tell one matter from another, in order: jieba's search-mode words
    (a long word and its parts), synonyms mapped to one word, stopwords, digits and punctuation dropped."""
    out = []
    for word in _segmenter().lcut_for_search(text.lower(), HMM=True):
        word = SYNONYMS.get(word, word)
        if word in STOPWORDS or not _WORD.match(word):
            continue
        if len(word) == 1 and word not in SINGLE:
            continue
        out.append(word)
    return out


# Single characters that carry a matter on their own (most do not: 的, 了, 楼).
SINGLE = frozenset("犬猫鸽鸡坑堵臭烟拴")


@dataclass
class Cluster:
    members: list[int] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)  # the sum of its members' unit vectors
    norm2: float = 0.0  # |weights|²


def _vector(words: Sequence[str], idf: dict[str, float]) -> dict[str, float]:
    """A complaint's unit vector: each of its words once (short texts say a word once), weighed by its IDF."""
    vec = {w: idf[w] for w in words}
    norm = math.sqrt(math.fsum(v * v for v in vec.values())) or 1.0
    return {w: v / norm for w, v in vec.items()}


def weights(all_terms: Iterable[Sequence[str]]) -> dict[str, float]:
    """Inverse document frequencies over every complaint considered (all areas and categories together: within
    one category the words that make its clusters are the common ones, and must not weigh less for it)."""
    df: Counter[str] = Counter()
    n = 0
    for words in all_terms:
        df.update(set(words))
        n += 1
    return {w: math.log((n + PRIOR_DOCS + 1) / (c + PRIOR_DOCS * PRIOR_RATE + 0.5)) + 1.0 for w, c in df.items()}


def cluster(docs: Sequence[tuple[int, Sequence[str]]], idf: dict[str, float], *,
            threshold: float = THRESHOLD) -> list[list[int]]:
    """Group documents (id, words) of one area and category, words weighed by `idf` (from `weights` over every
    document considered); returns every group (singletons too), ids in the order given (give them oldest first:
    a cluster's first complaint is its seed)."""
    clusters: list[Cluster] = []
    held: list[dict[str, float]] = []  # each cluster's weights, beside it: the loop below is the page's hot spot
    index: dict[str, list[int]] = {}  # word -> clusters whose centroid holds it
    sqrt = math.sqrt
    for doc_id, words in docs:
        vec = _vector(words, idf)
        dots: dict[int, float] = {}
        get = dots.get
        for w, v in vec.items():
            for c in index.get(w, ()):
                dots[c] = get(c, 0.0) + v * held[c][w]
        best, best_sim, best_dot = -1, threshold, 0.0
        for c, dot in dots.items():  # ties go to the older cluster
            sim = dot / sqrt(clusters[c].norm2)
            if sim > best_sim or (sim == best_sim and (best < 0 or c < best)):
                best, best_sim, best_dot = c, sim, dot
        if best < 0:
            best = len(clusters)
            clusters.append(Cluster())
            held.append(clusters[-1].weights)
        target = clusters[best]
        target.members.append(doc_id)
        target.norm2 += 2 * best_dot + 1.0  # |S + v|² = |S|² + 2 S·v + |v|², |v| = 1
        weights = held[best]
        for w, v in vec.items():
            if w in weights:
                weights[w] += v
            else:
                weights[w] = v
                index.setdefault(w, []).append(best)
    return [c.members for c in _merged(clusters, threshold)]


def _merged(clusters: list[Cluster], threshold: float) -> list[Cluster]:
    """Join clusters whose centroids are similar: a single pass splits a matter when its first complaints were
    worded apart, before the words that link them arrived."""
    alive = list(clusters)
    merged = True
    while merged:
        merged = False
        index: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(alive):
            for w in c.weights:
                index[w].append(i)
        gone: set[int] = set()
        for i, c in enumerate(alive):
            if i in gone:
                continue
            dots: dict[int, float] = defaultdict(float)
            for w, v in c.weights.items():
                for j in index[w]:
                    if j > i and j not in gone:
                        dots[j] += v * alive[j].weights[w]
            for j, dot in sorted(dots.items()):
                if dot / math.sqrt(c.norm2 * alive[j].norm2) >= threshold:
                    other = alive[j]
                    c.members.extend(other.members)
                    c.norm2 += 2 * dot + other.norm2
                    for w, v in other.weights.items():
                        c.weights[w] = c.weights.get(w, 0.0) + v
                    gone.add(j)
                    merged = True
        alive = [c for i, c in enumerate(alive) if i not in gone]
    return alive


def draft_title(texts_terms: Iterable[Sequence[str]], *, words: int = 3) -> list[str]:
    """The words most complaints of a cluster use (counted once per complaint), most frequent first."""
    counts: Counter[str] = Counter()
    for t in texts_terms:
        counts.update(set(t))
    chosen: list[str] = []
    for word, _n in sorted(counts.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0])):
        if (len(word) > 1 or word in SINGLE) and not any(word in c or c in word for c in chosen):  # 动车, 电动车
            chosen.append(word)
        if len(chosen) == words:
            break
    return chosen


# --- scoring against gold labels -------------------------------------------------------------------------------

def bcubed(found: dict[int, object], gold: dict[int, object]) -> tuple[float, float]:
    """B-cubed precision and recall of a clustering (`found`: item -> cluster) against `gold` (item -> label):
    per item, the share of its found cluster that shares its gold label, and the share of its gold cluster that
    it was found with; each averaged over the items."""
    by_found, by_gold = defaultdict(set), defaultdict(set)
    for item, c in found.items():
        by_found[c].add(item)
    for item, g in gold.items():
        by_gold[g].add(item)
    precision = recall = 0.0
    for item in gold:
        mine, same = by_found[found[item]], by_gold[gold[item]]
        both = len(mine & same)
        precision += both / len(mine)
        recall += both / len(same)
    return precision / len(gold), recall / len(gold)


def pairwise(found: dict[int, object], gold: dict[int, object]) -> tuple[float, float]:
    """Pairwise precision and recall: of the pairs put together, the share that belong together, and of the pairs
    that belong together, the share put together."""
    def pairs(labels: dict[int, object]) -> set[tuple[int, int]]:
        groups = defaultdict(list)
        for item, c in labels.items():
            groups[c].append(item)
        return {(a, b) for g in groups.values() for i, a in enumerate(sorted(g)) for b in sorted(g)[i + 1:]}

    f, g = pairs(found), pairs(gold)
    both = len(f & g)
    return (both / len(f) if f else 1.0), (both / len(g) if g else 1.0)
