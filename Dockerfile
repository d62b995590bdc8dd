# One image, three roles:
#   docker run IMAGE              -> the web role: granian, or gunicorn gthread workers with
#                                    -e BROADSHEET_SERVER_KIND=gunicorn (README "Running it")
#   docker run IMAGE scheduler    -> the scheduler role (run one or two per site)
#   docker run IMAGE migrate      -> schema migrations (run once per deploy)
# HEALTHCHECK runs `broadsheet health`, which checks whichever role this container runs:
# each role leaves a mark in /tmp/broadsheet-10001 (setting health.dir, per container),
# the web role its /healthz URL (on 127.0.0.1, at BROADSHEET_SERVER_PORT), the scheduler
# a heartbeat file it touches every 5 s. A migrate container exits instead.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN python -m venv /opt/broadsheet \
    && /opt/broadsheet/bin/pip install --no-cache-dir . \
    && /opt/broadsheet/bin/python -c "import granian, gunicorn"

FROM python:3.11-slim
LABEL org.opencontainers.image.title="Broadsheet" \
      org.opencontainers.image.description="Feed publisher: RSS 2.0, Atom 1.0 and JSON Feed 1.1"
RUN groupadd --system --gid 10001 broadsheet \
    && useradd --system --uid 10001 --gid broadsheet --home-dir /srv/broadsheet --create-home broadsheet \
    && mkdir -p /data \
    && chown broadsheet:broadsheet /data
COPY --from=build /opt/broadsheet /opt/broadsheet
COPY config /srv/broadsheet/config
ENV PATH="/opt/broadsheet/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BROADSHEET_CONFIG=/srv/broadsheet/config/broadsheet.toml \
    BROADSHEET_DATABASE_URL=sqlite:////data/broadsheet.db \
    BROADSHEET_SERVER_HOST=0.0.0.0 \
    BROADSHEET_LOG_FORMAT=json
WORKDIR /srv/broadsheet
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
# The check starts Python and imports the app (about a second) before its 2 s request.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["broadsheet", "health"]
ENTRYPOINT ["broadsheet"]
CMD ["web"]
