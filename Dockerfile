# syntax=docker/dockerfile:1
# Two images from one file (docker-compose.yaml picks the target):
#   airflow             Airflow 3.3 + vidvec (api-server, scheduler, dag-processor,
#                       triggerer, the init service and the sidecar all run it)
#   bigquery-emulator   local-bigquery on Python 3.13 with offline DuckDB extensions

FROM apache/airflow:3.3.2-python3.11 AS airflow
# Pin Airflow alongside requirements.txt so pip can never move it (Airflow's own advice).
COPY --chown=airflow:root requirements.txt /opt/vidvec/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r /opt/vidvec/requirements.txt
COPY --chown=airflow:root pyproject.toml README.md LICENSE /opt/vidvec/
COPY --chown=airflow:root include /opt/vidvec/include
# The `vidvec` command and package; DAGs and plugins go where Airflow looks.
RUN pip install --no-cache-dir --no-deps /opt/vidvec
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
ENV VIDVEC_HOME=/opt/airflow/vidvec

FROM python:3.13-slim AS bigquery-emulator
COPY requirements-bq-emulator.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt \
 && python -c "from duckdb_extensions import import_extension; \
[import_extension(n) for n in ('icu', 'ducklake', 'spatial')]"
EXPOSE 9050 9060
VOLUME /data
CMD ["local-bigquery", "serve", "--host", "0.0.0.0", "--port", "9050", "--grpc-port", "9060", \
     "--data-dir", "/data", "--project", "vidvec-local"]
