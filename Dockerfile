# Container images of the project, one final stage per binary, picked with --target:
#   docker build --target operator -t va.local/va-operator:0.1.0 .
#   docker build --target short-term-mem -t va.local/short-term-mem:0.1.0 .
# Targets: operator, the eight components (input-processor, prefrontal-cortex, language-center,
# action-executor, output-manager, short-term-mem, long-term-mem, conversation-log) and the two
# stores the VA needs, redis and postgres, made from Debian 12's own packages.
# The base images are build arguments that default to public images; `make images` (no
# registry is reachable on the development machines) first makes both locally from Debian's
# packages (hack/images/bases.sh) and passes them in. The same file builds against either.
#
# Layers go from the least to the most often changed: build dependencies, then the build
# system and the service library every component shares, then the sources of one binary only
# (the operator's image does not copy workloads/, a component's only its own folder and the ones
# it links), so that a change to one binary recompiles only that binary. Every final stage
# starts from `runtime` (the base, uid 65532), adds its files and entrypoint, and ends with its
# labels, so that a new revision changes only the images' metadata, not their layers.
ARG BUILDER_IMAGE=docker.io/library/debian:12
# glibc, libstdc++, libssl3, CA certificates, tzdata and a nonroot user (65532); no shell and
# no package manager. The binary's other shared libraries are copied in from the builder.
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# What every final image starts from: the runtime base, the nonroot user and the labels that
# never change. Each final stage ends with the ones that do (VERSION, REVISION and INPUTS, the
# checksum of the build's inputs that hack/images/build.sh compares), last, so that a new
# revision changes only the image's metadata, not its layers.
FROM ${RUNTIME_IMAGE} AS runtime
USER 65532:65532
LABEL org.opencontainers.image.vendor="virtualassistant.dev"

FROM ${BUILDER_IMAGE} AS deps
# The design card's libraries, hiredis, libpqxx and the toolchain, from Debian 12's packages. A
# builder base that already has them (the local one) skips apt entirely; debian:12 installs them.
ENV DEBIAN_FRONTEND=noninteractive
COPY hack/images/apt-ensure.sh /usr/local/bin/apt-ensure
RUN apt-ensure g++ cmake ninja-build pkg-config binutils libcpp-httplib-dev nlohmann-json3-dev \
      libyaml-cpp-dev libcurl4-openssl-dev libssl-dev libspdlog-dev prometheus-cpp-dev \
      libhiredis-dev libpq-dev libpqxx-dev
COPY hack/images/collect-rootfs.sh /usr/local/bin/collect-rootfs
COPY hack/images/build-binary.sh /usr/local/bin/build-binary

# --- the stores: Redis and PostgreSQL from Debian 12's packages, on the same runtime base ---
# First, since Docker's classic builder builds every stage above the target: these are cheap.
FROM deps AS stores-deps
RUN apt-ensure redis-server postgresql-15

FROM stores-deps AS redis-build
COPY hack/images/redis.conf /rootfs/etc/redis/redis.conf
# COPY keeps the checkout's modes (a umask 077 clone would make these unreadable to 65532).
RUN chmod 0644 /rootfs/etc/redis/redis.conf && \
    collect-rootfs /usr/bin/redis-server /rootfs && mkdir -p /rootfs/data && \
    chown 65532:65532 /rootfs/data

# Redis 7.0 of Debian 12, no shell. The password comes from a mounted file that redis.conf
# includes (/etc/redis/secret/auth.conf: `requirepass ...`); without it Redis does not start.
FROM runtime AS redis
COPY --from=redis-build /rootfs/ /
EXPOSE 6379
VOLUME /data
ENTRYPOINT ["/usr/local/bin/redis-server"]
CMD ["/etc/redis/redis.conf"]
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG INPUTS=unknown
LABEL org.opencontainers.image.title="redis" \
      org.opencontainers.image.description="Redis 7.0 from Debian 12's redis-server package, for the VirtualAssistant's short-term memory" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      dev.virtualassistant.inputs="${INPUTS}"

FROM stores-deps AS postgres-build
COPY hack/images/postgres-entrypoint.sh /rootfs/usr/local/bin/postgres-entrypoint
# The server, initdb, their modules (without the LLVM JIT) and share files, at Debian's paths
# (the binaries find the others relative to their own); and dash as /bin/sh, which initdb runs
# the bootstrap backend through.
RUN set -eu; pg=/usr/lib/postgresql/15; chmod 0755 /rootfs/usr/local/bin/postgres-entrypoint; \
    for b in postgres initdb; do collect-rootfs "$pg/bin/$b" /rootfs; \
      mkdir -p "/rootfs$pg/bin"; mv "/rootfs/usr/local/bin/$b" "/rootfs$pg/bin/$b"; done; \
    mkdir -p "/rootfs$pg/lib" /rootfs/usr/share/postgresql /rootfs/usr/bin; \
    find "$pg/lib" -maxdepth 1 -name '*.so' ! -name 'llvmjit*' -exec cp {} "/rootfs$pg/lib/" \; ; \
    cp -r /usr/share/postgresql/15 /rootfs/usr/share/postgresql/; \
    rm -rf /rootfs/usr/share/postgresql/15/man; \
    collect-rootfs /bin/dash /rootfs; mv /rootfs/usr/local/bin/dash /rootfs/usr/bin/sh; \
    mkdir -p /rootfs/var/lib/postgresql; chown 65532:65532 /rootfs/var/lib/postgresql

# PostgreSQL 15 of Debian 12. First start: initdb, then the role and database named by
# POSTGRES_USER and POSTGRES_DB (default va) with the password in POSTGRES_PASSWORD_FILE (a
# mounted file); clients authenticate with SCRAM over TCP. SIGINT is PostgreSQL's fast shutdown.
FROM runtime AS postgres
COPY --from=postgres-build /rootfs/ /
ENV PGDATA=/var/lib/postgresql/data
EXPOSE 5432
VOLUME /var/lib/postgresql
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG INPUTS=unknown
LABEL org.opencontainers.image.title="postgres" \
      org.opencontainers.image.description="PostgreSQL 15 from Debian 12's postgresql-15 package, for the VirtualAssistant's long-term memory and conversation log" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      dev.virtualassistant.inputs="${INPUTS}"

# The build system and what every binary shares.
FROM deps AS sources
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY operator/kube/result.h operator/kube/result.h

FROM sources AS operator-build
# The CRD is compiled in (operator/api applies its defaults offline).
COPY crds/ crds/
COPY operator/ operator/
RUN build-binary va-operator -DVA_BUILD_WORKLOADS=OFF

FROM runtime AS operator
COPY --from=operator-build /rootfs/ /
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/va-operator"]
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG INPUTS=unknown
LABEL org.opencontainers.image.title="va-operator" \
      org.opencontainers.image.description="Kubernetes operator for VirtualAssistant resources" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      dev.virtualassistant.inputs="${INPUTS}"

# --- the eight components: the service library, then what one component needs besides ---
# The service library (and its PostgreSQL part) is compiled once, here; each component's stage
# then configures again with its own folder added and compiles only that (build-binary).
FROM sources AS workload-sources
COPY workloads/CMakeLists.txt workloads/
COPY workloads/common/ workloads/common/
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVA_BUILD_TESTS=OFF \
      -DVA_BUILD_OPERATOR=OFF && \
    cmake --build /build --target va_service va_postgres

FROM workload-sources AS language-center-build
COPY workloads/nlu/ workloads/nlu/
COPY workloads/language_center/ workloads/language_center/
RUN build-binary va-language-center -DVA_BUILD_OPERATOR=OFF

FROM runtime AS language-center
COPY --from=language-center-build /rootfs/ /
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/va-language-center"]
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG INPUTS=unknown
LABEL org.opencontainers.image.title="language-center" \
      org.opencontainers.image.description="VirtualAssistant language center: intents, entities, slots and replies" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      dev.virtualassistant.inputs="${INPUTS}"

FROM workload-sources AS output-manager-build
COPY workloads/output_manager/ workloads/output_manager/
RUN build-binary va-output-manager -DVA_BUILD_OPERATOR=OFF

FROM runtime AS output-manager
COPY --from=output-manager-build /rootfs/ /
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/va-output-manager"]
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG INPUTS=unknown
LABEL org.opencontainers.image.title="output-manager" \
      org.opencontainers.image.description="VirtualAssistant output manager: replies and signed callback webhooks" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      dev.virtualassistant.inputs="${INPUTS}"

FROM workload-sources AS input-processor-build
COPY workloads/input_processor/ workloads/input_processor/
RUN build-binary va-input-processor -DVA_BUILD_OPERATOR=OFF

FROM runtime AS input-processor
COPY --from=input-processor-build /rootfs/ /
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/va-input-processor"]
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG INPUTS=unknown
LABEL org.opencontainers.image.title="input-processor" \
      org.opencontainers.image.description="VirtualAssistant input processor: the public API, authentication, rate limits and idempotent retries" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      dev.virtualassistant.inputs="${INPUTS}"

FROM workload-sources AS prefrontal-cortex-build
COPY workloads/nlu/ workloads/nlu/
COPY workloads/prefrontal_cortex/ workloads/prefrontal_cortex/
RUN build-binary va-prefrontal-cortex -DVA_BUILD_OPERATOR=OFF

FROM runtime AS prefrontal-cortex
COPY --from=prefrontal-cortex-build /rootfs/ /
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/va-prefrontal-cortex"]
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG INPUTS=unknown
LABEL org.opencontainers.image.title="prefrontal-cortex" \
      org.opencontainers.image.description="VirtualAssistant prefrontal cortex: the dialogue manager" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      dev.virtualassistant.inputs="${INPUTS}"

FROM workload-sources AS action-executor-build
COPY workloads/nlu/ workloads/nlu/
COPY workloads/action_executor/ workloads/action_executor/
RUN build-binary va-action-executor -DVA_BUILD_OPERATOR=OFF

FROM runtime AS action-executor
COPY --from=action-executor-build /rootfs/ /
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/va-action-executor"]
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG INPUTS=unknown
LABEL org.opencontainers.image.title="action-executor" \
      org.opencontainers.image.description="VirtualAssistant action executor: the assistant's HTTP actions behind an SSRF guard" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      dev.virtualassistant.inputs="${INPUTS}"

FROM workload-sources AS short-term-mem-build
COPY workloads/short_term_mem/ workloads/short_term_mem/
RUN build-binary va-short-term-mem -DVA_BUILD_OPERATOR=OFF

FROM runtime AS short-term-mem
COPY --from=short-term-mem-build /rootfs/ /
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/va-short-term-mem"]
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG INPUTS=unknown
LABEL org.opencontainers.image.title="short-term-mem" \
      org.opencontainers.image.description="VirtualAssistant short-term memory: conversation contexts and turn order in Redis" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      dev.virtualassistant.inputs="${INPUTS}"

FROM workload-sources AS long-term-mem-build
COPY workloads/nlu/ workloads/nlu/
COPY workloads/long_term_mem/ workloads/long_term_mem/
RUN build-binary va-long-term-mem -DVA_BUILD_OPERATOR=OFF

FROM runtime AS long-term-mem
COPY --from=long-term-mem-build /rootfs/ /
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/va-long-term-mem"]
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG INPUTS=unknown
LABEL org.opencontainers.image.title="long-term-mem" \
      org.opencontainers.image.description="VirtualAssistant long-term memory: users' facts and conversation summaries in PostgreSQL, and their consolidation job" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      dev.virtualassistant.inputs="${INPUTS}"

FROM workload-sources AS conversation-log-build
COPY workloads/conversation_log/ workloads/conversation_log/
RUN build-binary va-conversation-log -DVA_BUILD_OPERATOR=OFF

FROM runtime AS conversation-log
COPY --from=conversation-log-build /rootfs/ /
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/va-conversation-log"]
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG INPUTS=unknown
LABEL org.opencontainers.image.title="conversation-log" \
      org.opencontainers.image.description="VirtualAssistant conversation log: every turn, append-only, in PostgreSQL" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      dev.virtualassistant.inputs="${INPUTS}"
