"""The TF-IDF baseline every run is compared with: fitting it on the run's split, its
verdict sentence ("worth it" or not), and the files of a ``--model tfidf`` run. The TF-IDF
model itself is ``models.tfidf``; its predict surface is ``inference.tfidf``."""
