FROM alpine:3.22
ARG GITHUB_TOKEN
ARG NPM_TOKEN=npm-abc123
ENV DB_PASSWORD=hunter2
ENV API_KEY=key-k3y AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI
ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D
ENV PUBLIC_KEY_PATH=/etc/keys/pub.pem POSTGRES_PASSWORD_FILE=/run/secrets/pg
ENV REPO_URL=https://deploy:s3cr3tpass@git.example.com/repo.git
ARG MIRROR=https://ci:$MIRROR_TOKEN@mirror.example.com
RUN curl -fsSL https://admin:letmein@internal.example.com/setup.sh | sh
RUN aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE
RUN printf '%s\n' '-----BEGIN OPENSSH PRIVATE KEY-----' > /root/.ssh/id_ed25519
ENV SECRET_KEY_BASE=rails-base
ENV TOKEN=
USER 65532
