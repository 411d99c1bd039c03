"""One module per Keras backend computing the softmax terms of `kerasloss.softmax_kernels`.

Each module has the same two functions, `sparse_terms(logits, labels, wanted)` and
`dense_terms(logits, targets, wanted)`, returning {term name: per-row tensor} for the names in
`wanted`, with `entropy` carrying no gradient. `softmax_kernels` picks one at import.
"""
