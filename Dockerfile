# madoguchi: a small image that runs as a non-root user, with Tesseract (Japanese) and the
# fonts the request form and OCR need. Settings come from MADOGUCHI_* variables; secrets
# (store key, passwords) are mounted as files at run time, never built in. See docs/deploy.md.
#
#   docker build -t madoguchi .
#   docker run --rm -v madoguchi-data:/srv/madoguchi madoguchi run --once
#
# Base image pinned by tag; pin by digest too (python:3.11-slim-bookworm@sha256:…) if your
# registry policy asks for it.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- stage 1: wheels
FROM ${PYTHON_IMAGE} AS wheels
# Extra Python packages to build into the image (none by default; the PostgreSQL driver
# psycopg is already a dependency in pyproject.toml).
ARG EXTRA_PIP_PACKAGES=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY parsers ./parsers
COPY replies ./replies
COPY config ./config
RUN pip wheel --wheel-dir /wheels . ${EXTRA_PIP_PACKAGES}

# ---------------------------------------------------------------- stage 2: runtime
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="madoguchi" \
      org.opencontainers.image.description="A personal-information request window (開示等の求め) run by email"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LANG=C.UTF-8

# Runtime Debian packages: the same list as scripts/setup.sh (tests/test_deploy.py checks).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert tesseract-ocr-eng \
      fonts-ipaexfont-gothic fonts-ipaexfont-mincho poppler-utils \
 && rm -rf /var/lib/apt/lists/*

# A dedicated user (uid/gid 10001) and its folders, 0700. A named volume mounted at
# /srv/madoguchi starts as a copy of this folder, with this owner and mode.
RUN groupadd --system --gid 10001 madoguchi \
 && useradd --system --uid 10001 --gid 10001 --home-dir /srv/madoguchi --no-create-home \
      --shell /usr/sbin/nologin madoguchi \
 && install -d -o madoguchi -g madoguchi -m 0700 \
      /srv/madoguchi /srv/madoguchi/data /srv/madoguchi/mail /srv/madoguchi/outbox

COPY --from=wheels /wheels /tmp/wheels
COPY deploy/entrypoint.sh /usr/local/bin/madoguchi-entrypoint
RUN pip install --no-index --no-compile /tmp/wheels/*.whl \
 && rm -rf /tmp/wheels \
 && chmod 0755 /usr/local/bin/madoguchi-entrypoint \
 && madoguchi --help >/dev/null

USER 10001:10001
WORKDIR /srv/madoguchi
ENV MADOGUCHI_DATA_DIR=/srv/madoguchi/data \
    MADOGUCHI_DATABASE_URL=sqlite:////srv/madoguchi/data/madoguchi.db \
    MADOGUCHI_MAILBOX_URL=maildir:/srv/madoguchi/mail \
    MADOGUCHI_OUTBOX_URL=dir:/srv/madoguchi/outbox
VOLUME ["/srv/madoguchi"]
# `madoguchi health` changes nothing: settings, policy, the database at the newest schema,
# the store key opening the stored files, the data folder writable (exit 0 = healthy).
HEALTHCHECK --interval=60s --timeout=30s --start-period=60s --retries=3 \
  CMD ["madoguchi", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/madoguchi-entrypoint"]
CMD ["run"]
