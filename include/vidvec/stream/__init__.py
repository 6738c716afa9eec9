"""The streaming sidecar: catalog events -> conditional Qdrant writes within seconds.

Sources (local log, Pub/Sub) behind one interface, micro-batches, alias
resolution, dead letters, health and metrics. Never imports airflow.
"""
