FROM alpine:3.22
ADD https://example.com/tool.tar.gz /tmp/
ADD git@github.com:moby/buildkit.git /src/buildkit
ADD https://github.com/moby/buildkit.git#v0.34.2 /src/bk
ADD vendor.tar.gz /opt/
ADD rootfs.tar.zst /
ADD app.conf /etc/app/
ADD . /src
ADD --chown=1000:1000 bin/ /usr/local/bin/
ARG ARCHIVE=dist.tgz
ADD ${ARCHIVE} /opt/
COPY app.conf /etc/app/
USER 65532
