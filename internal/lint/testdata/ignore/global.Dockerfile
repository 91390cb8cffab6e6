FROM ubuntu:latest
# hadolint global ignore=XB007,DL3002
ADD app.conf /etc/app/
ADD other.conf /etc/app/
USER root
