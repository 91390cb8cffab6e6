FROM alpine:3.22 AS base
RUN apk add --no-cache curl
FROM base
RUN curl --version
