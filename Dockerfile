FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# pg_dump / pg_restore for `civic backup` and `civic restore` (Debian's client: at least the postgres:15 server).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir uv && uv pip install --system --no-cache --compile-bytecode -r requirements.lock
COPY . .
# var/media, keys and /backups exist owned by civic, so the named volumes mounted there start writable by it.
# Byte code is compiled at build time (PYTHONDONTWRITEBYTECODE keeps the running container from writing it):
# each process, the worker and every `civic` command, starts in about half the time.
RUN uv pip install --system --no-cache --no-deps -e . && python -m compileall -q civic && useradd --system civic \
    && mkdir -p var/media keys /backups && chown -R civic var keys /backups
USER civic
EXPOSE 8000
CMD ["civic", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--no-access-log"]
