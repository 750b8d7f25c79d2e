# Stand-in for prom/alertmanager:v0.27, from Debian's prometheus-alertmanager (bookworm:
# 0.25, whose binary is prometheus-alertmanager). Like the official image:
# /bin/alertmanager and /bin/amtool, sh, sed and wget (the rendering at start, health
# checks), /etc/alertmanager, the data in /alertmanager owned by nobody (so a fresh named
# volume is writable), and it runs as nobody.
ARG BASE
FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus-alertmanager wget \
    && rm -rf /var/lib/apt/lists/* \
    && { test -x /bin/alertmanager || ln -s /usr/bin/prometheus-alertmanager /bin/alertmanager; } \
    && { test -x /bin/amtool || ln -s /usr/bin/amtool /bin/amtool; } \
    && mkdir -p /alertmanager /etc/alertmanager \
    && chown -R nobody:nogroup /alertmanager /etc/alertmanager
USER nobody
WORKDIR /alertmanager
EXPOSE 9093
ENTRYPOINT ["/bin/alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
