"""Model-side metrics: zero-shot perplexity of causal LMs through lm-eval (optional extra ``[lm]``).

Nothing here is imported by ``import tokbench``; torch, transformers and lm-eval load lazily.
"""
