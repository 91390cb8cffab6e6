FROM alpine:3.22
USER 0:0
