# Stand-in for python:3.11-slim-bookworm, from Debian's own python3 (bookworm: 3.11).
# What our Dockerfiles rely on: `python` and `pip` on PATH (a venv, as the official
# image's are its own, outside Debian's managed site-packages), useradd, UTF-8.
ARG BASE
FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /usr/local/python
ENV PATH=/usr/local/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8
CMD ["python3"]
