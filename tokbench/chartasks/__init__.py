"""Character-level tasks (CharBench, CUTE): seeded item generators, gold answers, the
tokenizer-side analysis of each item, and a scorer for model answers. See docs/chartasks.md."""
