# Stand-in for prom/prometheus:v2.53, from Debian's prometheus (bookworm: 2.42). Like the
# official image: /bin/prometheus and /bin/promtool, sh and wget for health checks, the
# configuration in /etc/prometheus, the data in /prometheus owned by nobody (so a fresh
# named volume is writable), and it runs as nobody. Debian's recommended node exporter
# is left out; its service is never started (no init here).
ARG BASE
FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus wget \
    && rm -rf /var/lib/apt/lists/* \
    && for tool in prometheus promtool; do \
        test -x /bin/$tool || ln -s /usr/bin/$tool /bin/$tool; done \
    && mkdir -p /prometheus /etc/prometheus \
    && chown -R nobody:nogroup /prometheus /etc/prometheus
USER nobody
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
