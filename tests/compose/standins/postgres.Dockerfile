# Stand-in for postgres:16-alpine, from Debian's PostgreSQL (bookworm: 15, with contrib:
# pg_trgm). What compose relies on, as the official image does it: POSTGRES_USER,
# POSTGRES_PASSWORD and POSTGRES_DB on first start, the scripts in
# /docker-entrypoint-initdb.d run once on an empty data directory while the server
# listens on its Unix socket only, then the server on every address with passwords.
# (The cluster Debian's package creates on install is removed: PGDATA is the one.)
ARG BASE
FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && rm -rf /var/lib/postgresql/15 /etc/postgresql/15 \
    && mkdir -p /var/lib/postgresql/data /docker-entrypoint-initdb.d /var/run/postgresql \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
    && chmod 700 /var/lib/postgresql/data
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER postgres
EXPOSE 5432
# Fast shutdown, as the official image (SIGTERM would wait for every client to leave).
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
