FROM alpine:3.22 as Base
MAINTAINER ops@example.com
ENV APP_HOME /app
WORKDIR app
CMD echo started
CMD ["true"]
FROM scratch
ENV GREETING=$UNSET_VAR
COPY --from=base /etc/os-release /etc/os-release
USER 65532
