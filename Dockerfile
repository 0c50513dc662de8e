# Production image: gunicorn for the web, the same image for Celery workers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app
RUN useradd --create-home --uid 1000 vitrine

# Dependencies first, so that code changes do not reinstall them.
COPY pyproject.toml README.md ./
COPY config ./config
COPY shop ./shop
COPY recommender ./recommender
RUN pip install --no-cache-dir '.[s3]'

COPY . .
# Production settings refuse to start without a shared cache; collectstatic never connects to it.
RUN DJANGO_SECRET_KEY=collectstatic-only DJANGO_ALLOWED_HOSTS=localhost \
        CACHE_URL=redis://unused:6379/1 \
        python manage.py collectstatic --noinput \
    && mkdir -p /app/media /app/var && chown vitrine:vitrine /app/media /app/var

USER vitrine
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
