FROM alpine:3.22
USER app
RUN id
USER root
