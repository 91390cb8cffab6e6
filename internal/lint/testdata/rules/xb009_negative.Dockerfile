FROM --platform=$BUILDPLATFORM golang:1.26 AS base
ARG TARGETOS TARGETARCH
ENV CGO_ENABLED=0
FROM base AS build
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .

FROM --platform=$BUILDPLATFORM golang:1.26-alpine AS alpine
ARG TARGETOS TARGETARCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/alpine-app .

FROM --platform=$BUILDPLATFORM golang:1.26 AS static
ARG TARGETOS TARGETARCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -ldflags '-linkmode external -extldflags "-static"' -o /out/static-app .

FROM --platform=$BUILDPLATFORM golang:1.26 AS byarg
ARG TARGETOS TARGETARCH CGO_ENABLED=0
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/arg-app .

FROM scratch
COPY --from=build /out/app /app
COPY --from=alpine /out/alpine-app /alpine-app
COPY --from=static /out/static-app /static-app
COPY --from=byarg /out/arg-app /arg-app
USER 65532:65532
