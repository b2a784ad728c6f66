"""Segmenters on hand-made strings, with the expected spans written out by hand."""
from __future__ import annotations

import pytest

from tokbench.segment import SEGMENTERS, default_segmenter, word_spans, words


def spans(text: str, segmenter: str) -> list[tuple[int, int]]:
    s, e = word_spans(text, segmenter)
    assert s.dtype.kind == "i" and e.dtype.kind == "i"
    return list(zip(s.tolist(), e.tolist()))


CASES = [
    # --- whitespace: runs of non-space characters, punctuation stays attached
    ("whitespace", "Hello, wide world", [(0, 6), (7, 11), (12, 17)]),
    ("whitespace", "  a\tbc\n\nd  ", [(2, 3), (4, 6), (8, 9)]),
    ("whitespace", "ሰላም፡ዓለም።", [(0, 8)]),  # Ethiopic: no spaces, one "word"
    ("whitespace", "a\u00a0b\u3000c", [(0, 1), (2, 3), (4, 5)]),  # no-break and ideographic spaces
    ("whitespace", "", []),
    ("whitespace", " \t\n", []),
    # --- unicode_words: letters, marks, digits; punctuation is not a word
    ("unicode_words", "Hello, wide world!", [(0, 5), (7, 11), (12, 17)]),
    ("unicode_words", "don't stop\u2014now.", [(0, 3), (4, 5), (6, 10), (11, 14)]),
    ("unicode_words", "abc123 4,5", [(0, 6), (7, 8), (9, 10)]),
    ("unicode_words", "nai\u0308ve caf\u00e9", [(0, 6), (7, 11)]),  # combining diaeresis stays in
    ("unicode_words", "नमस्ते दुनिया", [(0, 6), (7, 13)]),  # virama and vowel signs are marks
    # Amharic: the wordspace ፡ (U+1361) and full stop ። (U+1362) separate words
    ("unicode_words", "ሰላም፡ዓለም።", [(0, 3), (4, 7)]),
    ("unicode_words", "የሰው፡ልጅ፡ሁሉ", [(0, 3), (4, 6), (7, 9)]),
    ("unicode_words", "... !!", []),
    # --- chars: one unit per Han/kana/Thai character; other letter runs are words
    ("chars", "人人生而自由", [(i, i + 1) for i in range(6)]),
    ("chars", "我爱Python3和東京。", [(0, 1), (1, 2), (2, 9), (9, 10), (10, 11), (11, 12)]),
    ("chars", "ひらがな、カタカナ", [(0, 1), (1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (7, 8), (8, 9)]),
    ("chars", "すべての人間は", [(i, i + 1) for i in range(7)]),
    # Thai: a consonant keeps its combining vowel/tone marks (สวัสดี = ส ว+ั ส ด+ี)
    ("chars", "สวัสดี ครับ", [(0, 1), (1, 3), (3, 4), (4, 6), (7, 8), (8, 10), (10, 11)]),
    ("chars", "Hello, 世界!", [(0, 5), (7, 8), (8, 9)]),
    # --- tibetan_syllables: the tsheg (U+0F0B), shad (U+0F0D) and spaces delimit syllables
    ("tibetan_syllables", "བོད་ཡིག་", [(0, 3), (4, 7)]),
    ("tibetan_syllables", "བོད་ཡིག།", [(0, 3), (4, 7)]),
    ("tibetan_syllables", "ཀ་ཁ ག།ང", [(0, 1), (2, 3), (4, 5), (6, 7)]),
    ("tibetan_syllables", "འགྲོ་བ་མི", [(0, 4), (5, 6), (7, 9)]),  # subjoined letters stay in the syllable
]


@pytest.mark.parametrize("segmenter,text,expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_spans(segmenter, text, expected):
    assert spans(text, segmenter) == expected
    assert words(text, segmenter) == [text[a:b] for a, b in expected]


def test_all_segmenters_are_covered():
    assert set(SEGMENTERS) == {c[0] for c in CASES}


@pytest.mark.parametrize("lang,segmenter", [
    ("en", "whitespace"), ("tr", "whitespace"), ("de-1996", "whitespace"), ("sr-Cyrl", "whitespace"),
    ("vi", "whitespace"), ("ko", "whitespace"),
    ("zh", "chars"), ("zh-Hant", "chars"), ("ja", "chars"), ("th", "chars"), ("my", "chars"), ("km", "chars"),
    ("th-TH", "chars"),
    ("bo", "tibetan_syllables"), ("dz", "tibetan_syllables"),
    ("am", "unicode_words"), ("ti", "unicode_words"),
])
def test_default_segmenter(lang, segmenter):
    assert default_segmenter(lang) == segmenter


def test_unknown_segmenter():
    with pytest.raises(ValueError, match="unknown segmenter 'charz'"):
        word_spans("abc", "charz")


def test_spans_are_ordered_and_disjoint():
    text = "Tous les êtres humains naissent libres. 人人生而自由。 สวัสดี བོད་ཡིག ሰላም፡ዓለም"
    for seg in SEGMENTERS:
        sp = spans(text, seg)
        assert all(a < b for a, b in sp)
        assert all(b1 <= a2 for (_, b1), (a2, _) in zip(sp, sp[1:]))


@pytest.mark.parametrize("texts,langs", [
    (["a b\u00a0c", "d\u3000e\x85f  a", "b\u200bc\n\ta"], ["en", "en", "en"]),
    # \x1c-\x1f: str.split() takes them for spaces, \s does not (the spans are sliced instead)
    (["a\x1cb c", "c a\x1fb"], ["en", "en"]),
    # a language with another segmenter in the batch
    (["人人生而自由 ab", "ab cd ab"], ["zh", "en"]),
    ([], []),
])
def test_batch_word_types_are_the_segmenters_words(texts, langs):
    """build_prep's distinct words (str.split + pandas.factorize where it may) are the words of
    word_spans document by document, in order of first appearance."""
    from tokbench.segment import segmenters_for, word_spans
    from tokbench.tokenize import build_prep

    segs = segmenters_for(langs)
    prep = build_prep(texts, langs, segs)
    words = [t[a:b] for t, lang in zip(texts, langs) for a, b in zip(*word_spans(t, segs[lang]))]
    assert [prep.word_types[i] for i in prep.word_type_of.tolist()] == words
    assert prep.word_types == list(dict.fromkeys(words))
