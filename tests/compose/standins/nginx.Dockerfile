# Stand-in for nginx:1.27-alpine, from Debian's nginx (bookworm: 1.22). Like the
# official image: /etc/nginx/conf.d/*.conf is the configuration, logs go to the
# container's output, busybox-like wget for health checks, a graceful stop on SIGQUIT.
ARG BASE
FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx wget \
    && rm -rf /var/lib/apt/lists/* \
    && rm -f /etc/nginx/sites-enabled/default \
    && ln -sf /dev/stdout /var/log/nginx/access.log \
    && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 8080
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
