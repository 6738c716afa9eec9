"""vidvec: keep a Qdrant vector space of video embeddings fresh.

The library never imports airflow; dags/ and plugins/ wrap it.
"""

from vidvec.errors import VidvecError

__all__ = ["VidvecError"]
