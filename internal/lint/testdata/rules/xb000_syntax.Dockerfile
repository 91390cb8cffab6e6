FROM alpine:3.22
FORM alpine:3.22
RUN echo ok
