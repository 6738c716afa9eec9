#!/usr/bin/env bash
# docker-compose init service: everything here is idempotent, so `up` can rerun it.
set -euo pipefail
airflow db migrate
# Against a Qdrant server and BigQuery, store tasks may run in parallel.
airflow pools set vidvec_store "${VIDVEC_STORE_POOL_SLOTS:-16}" "tasks that open the catalog and vector store"
# Connections come from AIRFLOW_CONN_* in the environment; fail early if one does not resolve.
for conn in google_cloud_default qdrant_default; do
  airflow connections get "$conn" -o json > /dev/null || { echo "connection $conn is not set (see .env.example)"; exit 1; }
done
# Pub/Sub topic + subscription (dead-letter policy) and the BigQuery dataset + tables.
vidvec provision
echo "init: done"
