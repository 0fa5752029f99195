# madoguchi: a small image that runs as a non-root user, with Tesseract (Japanese) and
# the fonts the request form and OCR need. Settings come from MADOGUCHI_* variables.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert tesseract-ocr-eng \
      fonts-ipaexfont-gothic fonts-ipaexfont-mincho poppler-utils \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --system --create-home --home-dir /srv/madoguchi --uid 10001 madoguchi
WORKDIR /opt/madoguchi
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY parsers ./parsers
COPY replies ./replies
COPY config ./config
RUN pip install --no-cache-dir . && python -c "import bot.cli"

USER madoguchi
WORKDIR /srv/madoguchi
ENV MADOGUCHI_DATA_DIR=/srv/madoguchi/data \
    MADOGUCHI_DATABASE_URL=sqlite:////srv/madoguchi/data/madoguchi.db \
    MADOGUCHI_MAILBOX_URL=maildir:/srv/madoguchi/mail \
    MADOGUCHI_OUTBOX_URL=dir:/srv/madoguchi/outbox
VOLUME ["/srv/madoguchi"]
HEALTHCHECK --interval=60s --timeout=20s CMD ["madoguchi", "db", "upgrade"]
ENTRYPOINT ["madoguchi"]
CMD ["run"]
