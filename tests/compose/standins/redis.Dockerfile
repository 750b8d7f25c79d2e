# Stand-in for redis:7.0-alpine, from Debian's redis-server (bookworm: 7.0.15).
# Like the official image: data in /data (owned by the redis user, so a fresh named
# volume is writable), and protected mode off (the compose network is the boundary).
ARG BASE
FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown redis:redis /data
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
USER redis
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
