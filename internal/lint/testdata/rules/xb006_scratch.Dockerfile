FROM alpine:3.22 AS build
RUN echo hello > /hello
FROM scratch
COPY --from=build /hello /hello
