ARG BASE=debian
ARG NODE_TAG=22-alpine
FROM ubuntu AS a
FROM ubuntu:latest AS b
FROM docker.io/library/node:${NODE_TAG} AS c
FROM localhost:5000/team/app AS d
FROM localhost:5000/team/app:1.0 AS e
FROM alpine@sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1 AS f
FROM ${BASE} AS g
FROM ${UNDECLARED}alpine:3.22 AS h
FROM a AS i
FROM scratch
COPY --from=i /etc/os-release /etc/os-release
USER 65532
