FROM --platform=$BUILDPLATFORM golang:1.26 AS base
ARG TARGETOS TARGETARCH
ENV CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH
WORKDIR /src

FROM base AS build
COPY . .
RUN go build -o /out/app .

FROM --platform=$BUILDPLATFORM golang:1.26 AS tools
RUN go install golang.org/x/tools/cmd/stringer@v0.30.0

FROM --platform=$BUILDPLATFORM tonistiigi/xx:1.6.1 AS xx
FROM --platform=$BUILDPLATFORM golang:1.26-alpine AS xbuild
COPY --from=xx / /
ARG TARGETPLATFORM
RUN xx-go build -o /out/xx-app . && cargo build --release

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/app /app
COPY --from=tools /go/bin/stringer /stringer
COPY --from=xbuild /out/xx-app /xx-app
