FROM alpine:3.22 AS base
USER 1000:1000
FROM base AS app
RUN id
FROM app
ENTRYPOINT ["id"]
