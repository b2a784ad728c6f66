"""A deterministic, seeded generator of number contexts in several languages (``numbers`` corpora).

Each document holds one generated number, date, time, price, ... (an *item*) written the way
its language writes it, placed in ``contexts`` different sentence templates of that language,
one per line. The same digits therefore occur several times in one document, after a space,
at the start of a line, after punctuation or a currency sign: the material of the context
consistency metric (:mod:`tokbench.metrics.digits`), and of digit chunking and place-value
alignment besides.

Families (``FAMILIES``):

* ``integer``: 1-20 digits (length uniform), no separator;
* ``grouped``: 4-15 digits with the language's thousands separator (``,`` en/zh/ja, ``.``
  de/tr, narrow no-break space U+202F fr, thin space U+2009 ru, Arabic ``٬`` U+066C ar/fa)
  or Indian lakh grouping (hi: ``12,34,56,789``);
* ``decimal``: 1-9 integer digits (grouped half the time), 1-6 fraction digits, the
  language's decimal mark;
* ``negative``: a negative integer or decimal, with ``-`` or the minus sign U+2212;
* ``date``, ``time``: the language's usual numeric formats (2-3 per language);
* ``price``: an amount with the language's currency and its position;
* ``percent``: 0-100 with 0-2 decimals (``%`` before the number in Turkish);
* ``scientific``: ``6.022e23``, ``1.5E-7``, ``3.2×10^8``;
* ``native_digits`` (only languages with their own digits): integers, grouped numbers and
  decimals in Arabic-Indic (ar), Extended Arabic-Indic (fa), Devanagari (hi) or fullwidth
  (ja, zh) digits.

Determinism: each (language, family) stream has its own ``random.Random`` seeded with the
string ``"<seed>:<lang>:<family>"`` (hashed with SHA-512 by ``random``: stable across processes
and Python builds), so adding a language or a family never changes another's items. The
corpus hash (``Corpus.hash`` over ``[lang, key, text]``) covers every generated text, and the
keys ``"v<GENERATOR_VERSION>.s<seed>.c<contexts>.<lang>.<family>.<i>"`` carry the parameters.

A suite names it as ``[corpora.NAME] source = "numbers"`` with ``seed``, ``n`` (documents per
language and family), ``contexts`` and ``langs`` (``tokbench.corpora.load_corpus``).

>>> docs = generate(seed=1, n=2, langs=["en"], families=["integer"])
>>> [d["key"] for d in docs]
['v1.s1.c3.en.integer.0000', 'v1.s1.c3.en.integer.0001']
>>> docs == generate(seed=1, n=2, langs=["en"], families=["integer"])
True
"""
from __future__ import annotations

import random
from dataclasses import dataclass

GENERATOR_VERSION = 1
FAMILIES = ("integer", "grouped", "decimal", "negative", "date", "time", "price", "percent", "scientific",
            "native_digits")
DEFAULT_N, DEFAULT_CONTEXTS = 20, 3
ASCII = "0123456789"


@dataclass(frozen=True)
class Style:
    """How one language writes numbers, and the sentences numbers are placed in."""

    group: str  # thousands separator
    decimal: str  # decimal mark
    templates: tuple[str, ...]  # sentences with one "{x}"
    dates: tuple[str, ...]  # str.format patterns over y, m, d, mm, dd, mon
    times: tuple[str, ...]  # over H, HH, h, MM, SS, ampm
    prices: tuple[str, ...]  # "{x}" plus the currency
    percent: str = "{x}%"
    indian: bool = False  # lakh / crore grouping
    native: str | None = None  # the language's own ten digits
    native_group: str | None = None
    native_decimal: str | None = None
    months: tuple[str, ...] = ()


EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")

STYLES: dict[str, Style] = {
    "en": Style(",", ".", ("The total is {x}.", "{x} people signed up last year.", "See entry #{x} in the log",
                           "Reference:{x}", "The final figure ({x}) was confirmed."),
                ("{m}/{d}/{y}", "{mon} {d}, {y}", "{y}-{mm}-{dd}"), ("{h}:{MM} {ampm}", "{HH}:{MM}", "{HH}:{MM}:{SS}"),
                ("${x}", "USD {x}"), months=EN_MONTHS),
    "de": Style(".", ",", ("Die Summe beträgt {x}.", "{x} Personen haben sich angemeldet.", "Siehe Eintrag Nr.{x}",
                           "Kennung:{x}", "Der Endwert ({x}) wurde bestätigt."),
                ("{dd}.{mm}.{y}", "{d}.{m}.{y}", "{y}-{mm}-{dd}"), ("{HH}:{MM} Uhr", "{HH}:{MM}:{SS}"),
                ("{x} €", "{x} EUR"), percent="{x} %"),
    "fr": Style("\u202f", ",", ("Le total est de {x}.", "{x} personnes se sont inscrites.", "Voir l'entrée n°{x}",
                                "Référence :{x}", "Le chiffre final ({x}) a été confirmé."),
                ("{dd}/{mm}/{y}", "{y}-{mm}-{dd}"), ("{HH} h {MM}", "{HH}:{MM}:{SS}"), ("{x} €", "{x}\u00a0€"),
                percent="{x}\u00a0%"),
    "ru": Style("\u2009", ",", ("Итого {x}.", "{x} человек записались.", "См. запись №{x}", "Код:{x}",
                                "Итоговое значение ({x}) подтверждено."),
                ("{dd}.{mm}.{y}", "{y}-{mm}-{dd}"), ("{HH}:{MM}", "{HH}:{MM}:{SS}"), ("{x} ₽", "{x} руб."),
                percent="{x} %"),
    "tr": Style(".", ",", ("Toplam {x} oldu.", "{x} kişi kayıt oldu.", "Bkz. kayıt no.{x}", "Kimlik:{x}",
                           "Son değer ({x}) onaylandı."),
                ("{dd}.{mm}.{y}", "{d}.{m}.{y}"), ("{HH}:{MM}", "{HH}.{MM}"), ("{x} TL", "₺{x}"), percent="%{x}"),
    "hi": Style(",", ".", ("कुल राशि {x} है।", "{x} लोगों ने पंजीकरण किया।", "प्रविष्टि #{x} देखें", "संदर्भ:{x}",
                           "अंतिम आँकड़ा ({x}) पुष्ट हुआ।"),
                ("{dd}-{mm}-{y}", "{dd}/{mm}/{y}"), ("{HH}:{MM}", "{h}:{MM} {ampm}"), ("₹{x}", "{x} रुपये"),
                indian=True, native="०१२३४५६७८९", native_group=",", native_decimal="."),
    "ar": Style(",", ".", ("المجموع هو {x}.", "سجل {x} شخصا.", "انظر البند رقم {x}", "المرجع:{x}",
                           "تم تأكيد الرقم النهائي ({x})."),
                ("{dd}/{mm}/{y}", "{y}-{mm}-{dd}"), ("{HH}:{MM}",), ("{x} دولار", "${x}"),
                native="٠١٢٣٤٥٦٧٨٩", native_group="\u066c", native_decimal="\u066b"),
    "fa": Style(",", ".", ("جمع کل {x} است.", "{x} نفر ثبت نام کردند.", "به ردیف {x} نگاه کنید", "شناسه:{x}",
                           "رقم نهایی ({x}) تایید شد."),
                ("{y}/{mm}/{dd}",), ("{HH}:{MM}",), ("{x} ریال", "{x} تومان"),
                native="۰۱۲۳۴۵۶۷۸۹", native_group="\u066c", native_decimal="\u066b"),
    "ja": Style(",", ".", ("合計は{x}です。", "{x}人が登録しました。", "項目番号{x}を参照", "ID:{x}",
                           "最終値（{x}）が確定した。"),
                ("{y}年{m}月{d}日", "{y}/{mm}/{dd}"), ("{H}時{MM}分", "{HH}:{MM}"), ("{x}円", "¥{x}"),
                native="０１２３４５６７８９", native_group=",", native_decimal="."),
    "zh": Style(",", ".", ("总数是{x}。", "共有{x}人报名。", "参见第{x}条", "编号:{x}", "最终数值（{x}）已确认。"),
                ("{y}年{m}月{d}日", "{y}-{mm}-{dd}"), ("{HH}:{MM}", "{H}点{MM}分"), ("{x}元", "¥{x}"),
                native="０１２３４５６７８９", native_group=",", native_decimal="."),
}
LANGS = tuple(STYLES)


def group_digits(digits: str, sep: str, *, indian: bool = False) -> str:
    """``digits`` with a separator every 3 digits from the right (Indian: 3, then every 2).

    >>> group_digits("1234567", ","), group_digits("1234567", ",", indian=True)
    ('1,234,567', '12,34,567')
    """
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    step = 2 if indian else 3
    parts = []
    while len(head) > step:
        parts.insert(0, head[-step:])
        head = head[:-step]
    return sep.join([head, *parts, tail])


def _digits(rng: random.Random, n: int) -> str:
    """``n`` random digits, no leading zero (unless n == 1)."""
    first = rng.choice(ASCII if n == 1 else ASCII[1:])
    return first + "".join(rng.choice(ASCII) for _ in range(n - 1))


def _number(rng: random.Random, st: Style, int_len: int, frac_len: int, *, group: bool) -> str:
    digits = _digits(rng, int_len)
    out = group_digits(digits, st.group, indian=st.indian) if group else digits
    return out + (st.decimal + "".join(rng.choice(ASCII) for _ in range(frac_len)) if frac_len else "")


def item(family: str, lang: str, rng: random.Random) -> str:
    """One generated item of ``family`` in ``lang``'s conventions."""
    st = STYLES[lang]
    if family == "integer":
        return _digits(rng, rng.randint(1, 20))
    if family == "grouped":
        return group_digits(_digits(rng, rng.randint(4, 15)), st.group, indian=st.indian)
    if family == "decimal":
        n = rng.randint(1, 9)
        return _number(rng, st, n, rng.randint(1, 6), group=n >= 4 and rng.random() < 0.5)
    if family == "negative":
        sign = rng.choice(("-", "\u2212"))
        return sign + _number(rng, st, rng.randint(1, 9), rng.choice((0, 0, 1, 2)), group=False)
    if family == "date":
        y, m, d = rng.randint(1900, 2099), rng.randint(1, 12), rng.randint(1, 28)
        mon = st.months[m - 1] if st.months else ""
        return rng.choice(st.dates).format(y=y, m=m, d=d, mm=f"{m:02d}", dd=f"{d:02d}", mon=mon)
    if family == "time":
        hour, minute, sec = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
        return rng.choice(st.times).format(H=hour, HH=f"{hour:02d}", h=(hour - 1) % 12 + 1, MM=f"{minute:02d}",
                                           SS=f"{sec:02d}", ampm="AM" if hour < 12 else "PM")
    if family == "price":
        cents = 0 if lang in ("ja", "fa") else 2
        amount = _number(rng, st, rng.randint(1, 7), cents, group=True)
        return rng.choice(st.prices).format(x=amount)
    if family == "percent":
        whole = str(rng.randint(0, 100))
        frac = rng.choice((0, 1, 2)) if whole != "100" else 0
        value = whole + (st.decimal + "".join(rng.choice(ASCII) for _ in range(frac)) if frac else "")
        return st.percent.format(x=value)
    if family == "scientific":
        mantissa = rng.choice(ASCII[1:]) + "." + "".join(rng.choice(ASCII) for _ in range(rng.randint(1, 6)))
        exp = rng.randint(-30, 30)
        return rng.choice(("{m}e{e}", "{m}E{e}", "{m}×10^{e}")).format(m=mantissa, e=exp)
    if family == "native_digits":
        if st.native is None:
            raise ValueError(f"language {lang!r} has no native digits")
        kind = rng.choice(("integer", "grouped", "decimal"))
        n = rng.randint(1, 12) if kind == "integer" else rng.randint(4, 12) if kind == "grouped" else rng.randint(1, 7)
        digits = _digits(rng, n)
        if kind == "grouped":
            digits = group_digits(digits, "\0", indian=st.indian)
        elif kind == "decimal":
            digits += "\1" + "".join(rng.choice(ASCII) for _ in range(rng.randint(1, 4)))
        table = str.maketrans({**{a: b for a, b in zip(ASCII, st.native)}, "\0": st.native_group,
                               "\1": st.native_decimal})
        return digits.translate(table)
    raise ValueError(f"unknown number family {family!r}; choose from {', '.join(FAMILIES)}")


def families_of(lang: str, families: list[str] | tuple[str, ...] = FAMILIES) -> list[str]:
    """The families generated for ``lang`` (``native_digits`` only where the language has its own)."""
    return [f for f in families if f != "native_digits" or STYLES[lang].native is not None]


def generate(*, seed: int, n: int = DEFAULT_N, contexts: int = DEFAULT_CONTEXTS, langs: list[str] | None = None,
             families: list[str] | tuple[str, ...] = FAMILIES) -> list[dict]:
    """The records (lang, key, text) of a numbers corpus: ``n`` documents per language and family."""
    if n < 1 or contexts < 1:
        raise ValueError("numbers: `n` and `contexts` must be at least 1")
    bad = [f for f in families if f not in FAMILIES]
    if bad:
        raise ValueError(f"numbers: unknown famil{'y' if len(bad) == 1 else 'ies'} {bad}; choose from "
                         f"{', '.join(FAMILIES)}")
    records = []
    for lang in langs or LANGS:
        st = STYLES[lang]
        k = min(contexts, len(st.templates))
        for family in families_of(lang, families):
            rng = random.Random(f"{seed}:{lang}:{family}")
            for i in range(n):
                x = item(family, lang, rng)
                lines = [t.format(x=x) for t in rng.sample(st.templates, k)]
                records.append({"lang": lang, "key": f"v{GENERATOR_VERSION}.s{seed}.c{contexts}.{lang}.{family}.{i:04d}",
                                "text": "\n".join(lines)})
    return records


__all__ = ["FAMILIES", "GENERATOR_VERSION", "LANGS", "STYLES", "Style", "families_of", "generate", "group_digits",
           "item"]
