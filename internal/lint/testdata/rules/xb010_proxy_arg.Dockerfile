ARG HTTP_PROXY
FROM alpine:3.22 AS build
ARG https_proxy
ARG VERSION NO_PROXY=localhost,.corp.example
ARG HTTP_PROXY_HOST PROXY_PORT
RUN wget -q -O /dev/null https://example.com/
FROM alpine:3.22
ARG All_Proxy
USER 65532
