FROM alpine:3.22
ARG HTTP_PROXY
ENV HTTPS_PROXY=http://proxy.corp.example:3128
ENV http_proxy=http://proxy.corp.example:3128 no_proxy=localhost,.corp.example
ENV FTP_PROXY http://proxy.corp.example:3128
ENV ALL_PROXY=socks5://proxy.corp.example:1080 APP_MODE=production
ENV PROXY_MODE=direct NO_PROXY_LIST=none
RUN wget -q -O /dev/null https://example.com/
USER 65532
