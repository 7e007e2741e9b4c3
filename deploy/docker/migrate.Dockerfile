# Database migrations: db/migrations/NNN_*.sql applied with psql by migrate.sh. Build from the repository root:
#   docker build -f deploy/docker/migrate.Dockerfile -t ghcr.io/example/media-migrate:latest .
# Run with DATABASE_URL set to a libpq URL, e.g. postgresql://media:secret@postgres:5432/media
FROM postgres:15
COPY db/migrations/ /migrations/
COPY deploy/docker/migrate.sh /usr/local/bin/migrate.sh
RUN chmod 0755 /usr/local/bin/migrate.sh && chmod -R a+rX /migrations
# Non-root: the image's postgres user (uid 999), numeric so that Kubernetes can check runAsNonRoot.
USER 999:999
ENTRYPOINT ["/usr/local/bin/migrate.sh"]
