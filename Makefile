# Operator project verbs in kubebuilder's style; CMake builds underneath.
# `make help` lists them.

SHELL := /bin/bash
.DEFAULT_GOAL := help

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
WERROR ?= ON
SANITIZE ?= OFF
JOBS ?= $(shell nproc)
CTEST_ARGS ?=
export PATH := /usr/local/go/bin:$(PATH)

# The sanitizer tree is unoptimised (Debug, line tables only: cmake/VaHelpers.cmake).
ifeq ($(SANITIZE),ON)
BUILD_DIR := $(BUILD_DIR)-asan
BUILD_TYPE := Debug
endif

KUBECONFIG_LOCAL := $(CURDIR)/_output/cluster/kubeconfig
KUBECTL := $(CURDIR)/_output/bin/kubectl

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install every build and test dependency from Debian's packages (idempotent).
	@bash hack/install-deps.sh

##@ Development

.PHONY: configure
configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DVA_WERROR=$(WERROR) -DVA_SANITIZE=$(SANITIZE) >/dev/null

.PHONY: build
build: configure ## Build the operator, the workloads and the tests.
	@cmake --build $(BUILD_DIR) -j $(JOBS)

.PHONY: test
test: build cluster-binaries ## Build, bring up the local control plane, run unit and integration tests, tear down.
	@ctest --test-dir $(BUILD_DIR) --output-on-failure $(CTEST_ARGS)

.PHONY: test-unit
test-unit: configure ## Build and run the unit tests only (no cluster).
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target va_unit_tests
	@ctest --test-dir $(BUILD_DIR) -L unit --output-on-failure $(CTEST_ARGS)

.PHONY: test-integration
test-integration: build cluster-binaries ## Run the integration tests (brings the cluster up and down unless one is up).
	@ctest --test-dir $(BUILD_DIR) -L integration --output-on-failure $(CTEST_ARGS)

.PHONY: bench
bench: build cluster-binaries ## Run the benchmarks (medians and same-run baselines; brings the cluster up if needed).
	@bash hack/bench.sh $(BUILD_DIR)

.PHONY: fmt
fmt: deps ## Format the C++ sources with clang-format.
	@git ls-files '*.cc' '*.h' | xargs -r clang-format -i

.PHONY: lint
lint: configure ## Check formatting and run clang-tidy's curated checks.
	@git ls-files '*.cc' '*.h' | xargs -r clang-format --dry-run -Werror
	@git ls-files 'operator/*.cc' 'workloads/*.cc' | xargs -r -P $(JOBS) -n 4 clang-tidy -p $(BUILD_DIR) --quiet 2>/dev/null

##@ Local cluster

.PHONY: cluster-binaries
cluster-binaries: ## Build etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok (cached).
	@bash hack/cluster/build.sh all >/dev/null

NODE ?= kwok

.PHONY: cluster-up
cluster-up: deps ## Start the local control plane (etcd, apiserver, controller-manager, scheduler) with kwok nodes, or NODE=real for one real node (kubelet, containerd, CNI, kube-proxy, CoreDNS, kube-router).
	@VA_NODE=$(NODE) bash hack/cluster/up.sh

.PHONY: cluster-down
cluster-down: ## Stop every process of the local control plane and remove its state.
	@bash hack/cluster/down.sh

##@ Demo

# As root the VA runs inside the cluster on a real node (hack/demo-node.sh); otherwise, or with
# DEMO=beside, its workloads run as containers beside a cluster of kwok nodes (hack/demo.sh).
DEMO ?= node

.PHONY: demo
demo: ## The whole system from a fresh clone: control plane with a real node, the operator and the concierge VA as pods, a conversation (DEMO=beside: containers beside kwok nodes).
	@if [ "$$(id -u)" = 0 ] && [ "$(DEMO)" != beside ]; then bash hack/demo-node.sh $(BUILD_DIR); \
	else bash hack/demo.sh $(BUILD_DIR); fi

.PHONY: demo-down
demo-down: ## Stop what `make demo` started: the VA's containers, the operator and the local control plane.
	@bash hack/demo.sh down

.PHONY: clean
clean: ## Remove build trees and the local cluster's state (not the cached binaries).
	@bash hack/cluster/down.sh >/dev/null 2>&1 || true
	@rm -rf build build-asan _output

##@ Images (Docker; base images made locally from Debian's packages, hack/images/bases.sh)

# One place for image names and the version: the project's version in CMakeLists.txt, the
# registry here; the operator's defaults (--default-image-registry/tag) and config/ use the same.
VERSION := $(shell sed -n 's/^project.va_operator VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
REGISTRY ?= va.local
IMG ?= $(REGISTRY)/va-operator:$(VERSION)

# The Dockerfile has a final stage for each: va.local/<name>:VERSION. The operator's default
# image references (--default-image-registry/tag) name the eight components the same way.
WORKLOAD_IMAGES := input-processor prefrontal-cortex language-center action-executor output-manager \
                   short-term-mem long-term-mem conversation-log
# Redis and PostgreSQL from Debian 12's packages, for the VA's stores (examples and tests).
STORE_IMAGES := redis postgres

.PHONY: docker-build
docker-build: ## Build the operator image (IMG, default va.local/va-operator:VERSION; BUILDER_IMAGE/RUNTIME_IMAGE override the bases).
	@bash hack/images/build.sh operator $(IMG)

.PHONY: images
images: docker-build ## Build every image: the operator, the eight components, Redis and PostgreSQL (va.local/<name>:VERSION).
	@start=$$(date +%s); for c in $(WORKLOAD_IMAGES) $(STORE_IMAGES); do \
	  bash hack/images/build.sh $$c $(REGISTRY)/$$c:$(VERSION) || exit 1; done; \
	  echo "images: $(words $(WORKLOAD_IMAGES) $(STORE_IMAGES)) built after the operator's in $$(( $$(date +%s) - start )) s"

.PHONY: test-images
test-images: images cluster-binaries ## Run each image read-only, non-root, without capabilities (the operator's against the local control plane, the whole VA on a Docker network).
	@bash tests/images/operator_image_test.sh $(IMG)
	@for c in $(WORKLOAD_IMAGES); do bash tests/images/workload_image_test.sh $$c $(REGISTRY)/$$c:$(VERSION) || exit 1; done
	@bash tests/images/conversation_images_test.sh $(REGISTRY) $(VERSION)

.PHONY: test-node
test-node: images build cluster-binaries ## End to end on a real node (needs root): the operator and the concierge with in-cluster stores as real pods, a conversation, NetworkPolicies enforced.
	@BIN_DIR=$(CURDIR)/$(BUILD_DIR) bash tests/node/run.sh

##@ Deployment (against KUBECONFIG, else the local control plane)

KUBECTL_DEPLOY = KUBECONFIG=$${KUBECONFIG:-$(KUBECONFIG_LOCAL)} $(KUBECTL)

.PHONY: install
install: cluster-binaries ## Install the CRDs into the cluster.
	@$(KUBECTL_DEPLOY) apply --server-side -f crds/

.PHONY: uninstall
uninstall: cluster-binaries ## Remove the CRDs (and with them every VirtualAssistant) from the cluster.
	@$(KUBECTL_DEPLOY) delete --ignore-not-found -f crds/

.PHONY: deploy
deploy: cluster-binaries ## Deploy the operator (kustomize build config/default | kubectl apply); needs its image.
	@$(KUBECTL_DEPLOY) kustomize config/default | $(KUBECTL_DEPLOY) apply --server-side -f -

.PHONY: undeploy
undeploy: cluster-binaries ## Remove what `make deploy` applied.
	@$(KUBECTL_DEPLOY) kustomize config/default | $(KUBECTL_DEPLOY) delete --ignore-not-found -f -

.PHONY: run-local
run-local: build ## Run the VA's components as processes on loopback (hack/local/run.sh); Ctrl-C stops them.
	@BIN_DIR=$(BUILD_DIR) bash hack/local/run.sh foreground

.PHONY: run
run: build ## Run the operator locally against the cluster (ARGS="--namespace x" for flags).
	@KUBECONFIG=$${KUBECONFIG:-$(KUBECONFIG_LOCAL)} $(BUILD_DIR)/operator/va-operator $(ARGS)
