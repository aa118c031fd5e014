// va-operator: flags and wiring only; the logic lives in the libraries under operator/.
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "operator/kube/client.h"
#include "operator/kube/kubeconfig.h"
#include "operator/specs/render.h"

namespace {

constexpr std::string_view kUsage =
    "usage: va-operator --version\n"
    "       va-operator --check [--kubeconfig PATH] [--context NAME]\n"
    "       va-operator render -f FILE\n"
    "\n"
    "  render -f FILE     print the children the operator would apply for the VirtualAssistant\n"
    "                     in FILE (multi-document YAML, in apply order), without a cluster\n"
    "  --version          print the operator's version\n"
    "  --check            connect to the API server and print its version (gitVersion)\n"
    "  --kubeconfig PATH  kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)\n"
    "  --context NAME     kubeconfig context to use (default: its current-context)\n";

struct Flags {
  bool version = false;
  bool check = false;
  std::optional<std::string> kubeconfig;
  std::optional<std::string> context;
};

int usageError(const std::string& message) {
  std::fprintf(stderr, "va-operator: %s\n%s", message.c_str(), kUsage.data());
  return 2;
}

// Parses argv into flags; returns an exit code when the program should stop right away.
std::optional<int> parseFlags(int argc, char** argv, Flags& flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&](std::string_view name) -> std::optional<std::string> {
      if (arg.size() > name.size() && arg[name.size()] == '=') {
        return std::string(arg.substr(name.size() + 1));
      }
      if (arg == name && i + 1 < argc) return std::string(argv[++i]);
      return std::nullopt;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage.data(), stdout);
      return 0;
    }
    if (arg == "--version") {
      flags.version = true;
    } else if (arg == "--check") {
      flags.check = true;
    } else if (arg == "--kubeconfig" || arg.starts_with("--kubeconfig=")) {
      flags.kubeconfig = value("--kubeconfig");
      if (!flags.kubeconfig || flags.kubeconfig->empty())
        return usageError("--kubeconfig needs a path");
    } else if (arg == "--context" || arg.starts_with("--context=")) {
      flags.context = value("--context");
      if (!flags.context || flags.context->empty()) return usageError("--context needs a name");
    } else {
      return usageError("unknown argument \"" + std::string(arg) + "\"");
    }
  }
  return std::nullopt;
}

// `va-operator render -f FILE`: exit 0 with the YAML on stdout, or 2 with the error.
int render(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[1]) == "-f") {
    auto yaml = va::specs::renderFile(argv[2], va::specs::OperatorConfig{});
    if (!yaml) {
      std::fprintf(stderr, "va-operator: %s\n", yaml.error().message().c_str());
      return 2;
    }
    std::fputs(yaml->c_str(), stdout);
    return 0;
  }
  return usageError("render needs -f FILE");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "render") return render(argc - 1, argv + 1);
  Flags flags;
  if (const auto exitCode = parseFlags(argc, argv, flags)) return *exitCode;

  if (flags.version) {
    std::printf("va-operator %s\n", VA_VERSION);
    return 0;
  }
  if (!flags.check) return usageError("nothing to do yet: pass --check or --version");

  auto config = flags.kubeconfig ? va::kube::loadKubeconfig(*flags.kubeconfig, flags.context)
                                 : va::kube::loadDefaultConfig(flags.context);
  if (!config) {
    std::fprintf(stderr, "va-operator: %s\n", config.error().message().c_str());
    return 1;
  }
  va::kube::ClientImpl client(std::move(*config));
  auto version = va::kube::serverVersion(client);
  if (!version) {
    std::fprintf(stderr, "va-operator: cannot reach the API server at %s: %s\n",
                 client.config().server.c_str(), version.error().toString().c_str());
    return 1;
  }
  std::printf("%s\n", version->c_str());
  return 0;
}
