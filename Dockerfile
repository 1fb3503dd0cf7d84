# kuaiche services image: one image, the command picks the service and role, e.g.
#   kuaiche migrate --service registry | kuaiche serve registry --port 8001 | kuaiche worker registry
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the package needs (keeps .venv/, .local/ and .git/ out of the image).
# The locked dependencies first (exact versions, hashes checked), in their own cached layer.
COPY requirements/runtime.lock ./requirements/runtime.lock
RUN pip install --require-hashes -r requirements/runtime.lock

COPY pyproject.toml ./
COPY kuaiche ./kuaiche
COPY shared ./shared
COPY services ./services

RUN pip install --no-deps . \
    && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home kuaiche

USER kuaiche

CMD ["kuaiche", "--help"]
