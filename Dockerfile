FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir uv && uv pip install --system --no-cache -r requirements.lock
COPY . .
RUN uv pip install --system --no-cache --no-deps -e . && useradd --system civic && mkdir -p var && chown civic var
USER civic
EXPOSE 8000
CMD ["civic", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--no-access-log"]
