"""Training-data augmentation: EDA (Wei & Zou 2019) with offline synonyms.

``parse_spec("eda:2")`` reads ``--augment``; ``augment_examples`` adds the
augmented copies to a training split (never to validation or test: the caller
passes only ``parts["train"]``); ``synonyms`` finds synonyms in a model's own
input embeddings or reads them from a file.
"""
