# Container images of the project, one final stage per binary, picked with --target:
#   docker build --target operator -t va.local/va-operator:0.1.0 .
# The base images are build arguments that default to public images; `make docker-build` (no
# registry is reachable on the development machines) first makes both locally from Debian's
# packages (hack/images/bases.sh) and passes them in. The same file builds against either.
#
# Layers go from the least to the most often changed: build dependencies, then the build
# system, then the sources of one binary only (the operator's image does not copy workloads/),
# so that a change to one binary rebuilds only its own layers.
ARG BUILDER_IMAGE=docker.io/library/debian:12
# glibc, libstdc++, libssl3, CA certificates, tzdata and a nonroot user (65532); no shell and
# no package manager. The binary's other shared libraries are copied in from the builder.
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${BUILDER_IMAGE} AS deps
# The design card's libraries and the toolchain, from Debian 12's packages. A builder base that
# already has them (the local one) skips apt entirely; a public debian:12 installs them.
ENV DEBIAN_FRONTEND=noninteractive
RUN set -eu; \
    pkgs="g++ cmake ninja-build pkg-config binutils libcpp-httplib-dev nlohmann-json3-dev \
          libyaml-cpp-dev libcurl4-openssl-dev libssl-dev libspdlog-dev prometheus-cpp-dev"; \
    missing=; \
    for p in $pkgs; do \
      dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || \
        missing="$missing $p"; \
    done; \
    if [ -n "$missing" ]; then \
      apt-get update && apt-get install -y --no-install-recommends $missing && \
      rm -rf /var/lib/apt/lists/*; \
    fi
COPY hack/images/collect-rootfs.sh /usr/local/bin/collect-rootfs

FROM deps AS operator-build
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
# The CRD is compiled in (operator/api applies its defaults offline).
COPY crds/ crds/
COPY operator/ operator/
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DVA_BUILD_TESTS=OFF -DVA_BUILD_WORKLOADS=OFF && \
    cmake --build /build --target va-operator && \
    strip /build/operator/va-operator && \
    collect-rootfs /build/operator/va-operator /rootfs

FROM ${RUNTIME_IMAGE} AS operator
COPY --from=operator-build /rootfs/ /
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/va-operator"]
# Last, so that a new revision changes only this metadata, not the layers above.
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="va-operator" \
      org.opencontainers.image.description="Kubernetes operator for VirtualAssistant resources" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.vendor="virtualassistant.dev"

# --- workloads: each copies the service library, what it needs besides, and its own folder ---
FROM deps AS language-center-build
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY operator/kube/result.h operator/kube/result.h
COPY workloads/CMakeLists.txt workloads/
COPY workloads/common/ workloads/common/
COPY workloads/nlu/ workloads/nlu/
COPY workloads/language_center/ workloads/language_center/
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DVA_BUILD_TESTS=OFF -DVA_BUILD_OPERATOR=OFF && \
    cmake --build /build --target va-language-center && \
    strip /build/workloads/language_center/va-language-center && \
    collect-rootfs /build/workloads/language_center/va-language-center /rootfs

FROM ${RUNTIME_IMAGE} AS language-center
COPY --from=language-center-build /rootfs/ /
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/va-language-center"]
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="language-center" \
      org.opencontainers.image.description="VirtualAssistant language center: intents, entities, slots and replies" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.vendor="virtualassistant.dev"

FROM deps AS output-manager-build
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY operator/kube/result.h operator/kube/result.h
COPY workloads/CMakeLists.txt workloads/
COPY workloads/common/ workloads/common/
COPY workloads/output_manager/ workloads/output_manager/
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DVA_BUILD_TESTS=OFF -DVA_BUILD_OPERATOR=OFF && \
    cmake --build /build --target va-output-manager && \
    strip /build/workloads/output_manager/va-output-manager && \
    collect-rootfs /build/workloads/output_manager/va-output-manager /rootfs

FROM ${RUNTIME_IMAGE} AS output-manager
COPY --from=output-manager-build /rootfs/ /
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/va-output-manager"]
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="output-manager" \
      org.opencontainers.image.description="VirtualAssistant output manager: replies and signed callback webhooks" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.vendor="virtualassistant.dev"

FROM deps AS input-processor-build
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY operator/kube/result.h operator/kube/result.h
COPY workloads/CMakeLists.txt workloads/
COPY workloads/common/ workloads/common/
COPY workloads/input_processor/ workloads/input_processor/
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DVA_BUILD_TESTS=OFF -DVA_BUILD_OPERATOR=OFF && \
    cmake --build /build --target va-input-processor && \
    strip /build/workloads/input_processor/va-input-processor && \
    collect-rootfs /build/workloads/input_processor/va-input-processor /rootfs

FROM ${RUNTIME_IMAGE} AS input-processor
COPY --from=input-processor-build /rootfs/ /
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/va-input-processor"]
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="input-processor" \
      org.opencontainers.image.description="VirtualAssistant input processor: the public API, authentication, rate limits and idempotent retries" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.vendor="virtualassistant.dev"

FROM deps AS prefrontal-cortex-build
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY operator/kube/result.h operator/kube/result.h
COPY workloads/CMakeLists.txt workloads/
COPY workloads/common/ workloads/common/
COPY workloads/nlu/ workloads/nlu/
COPY workloads/prefrontal_cortex/ workloads/prefrontal_cortex/
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DVA_BUILD_TESTS=OFF -DVA_BUILD_OPERATOR=OFF && \
    cmake --build /build --target va-prefrontal-cortex && \
    strip /build/workloads/prefrontal_cortex/va-prefrontal-cortex && \
    collect-rootfs /build/workloads/prefrontal_cortex/va-prefrontal-cortex /rootfs

FROM ${RUNTIME_IMAGE} AS prefrontal-cortex
COPY --from=prefrontal-cortex-build /rootfs/ /
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/va-prefrontal-cortex"]
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="prefrontal-cortex" \
      org.opencontainers.image.description="VirtualAssistant prefrontal cortex: the dialogue manager" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.vendor="virtualassistant.dev"

FROM deps AS action-executor-build
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY operator/kube/result.h operator/kube/result.h
COPY workloads/CMakeLists.txt workloads/
COPY workloads/common/ workloads/common/
COPY workloads/nlu/ workloads/nlu/
COPY workloads/action_executor/ workloads/action_executor/
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DVA_BUILD_TESTS=OFF -DVA_BUILD_OPERATOR=OFF && \
    cmake --build /build --target va-action-executor && \
    strip /build/workloads/action_executor/va-action-executor && \
    collect-rootfs /build/workloads/action_executor/va-action-executor /rootfs

FROM ${RUNTIME_IMAGE} AS action-executor
COPY --from=action-executor-build /rootfs/ /
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/va-action-executor"]
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="action-executor" \
      org.opencontainers.image.description="VirtualAssistant action executor: the assistant's HTTP actions behind an SSRF guard" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.vendor="virtualassistant.dev"
