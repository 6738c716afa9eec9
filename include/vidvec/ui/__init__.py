"""The vidvec page in the Airflow UI: the space's state (state.py) and its HTML (page.py)."""
