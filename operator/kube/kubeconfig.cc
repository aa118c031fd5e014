#include "operator/kube/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string_view>
#include <system_error>
#include <utility>

#include "operator/kube/base64.h"
#include "operator/kube/in_cluster.h"

namespace va::kube {
namespace {

namespace fs = std::filesystem;

// One parsed kubeconfig file.
struct Source {
  std::string path;
  fs::path dir;  // relative file references resolve against this
  YAML::Node root;
};

// A named entry (context, cluster or user) and the file that defined it.
struct Entry {
  const Source* source = nullptr;
  YAML::Node body;
  std::string field;  // e.g. "users[admin]", the prefix of every error about it
};

// Errors carry "kubeconfig <path>: " so the user knows which file to fix.
Error fileError(const std::string& path, const std::string& message) {
  return Error("kubeconfig " + path + ": " + message);
}

std::string inQuotes(const std::string& text) { return "\"" + text + "\""; }

Result<std::string> readFile(const fs::path& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) {
    return Error("cannot read " + path.string() + ": " + std::generic_category().message(errno));
  }
  std::string contents;
  char buffer[8192];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) contents.append(buffer, n);
  if (std::ferror(file.get())) {
    return Error("cannot read " + path.string() + ": " + std::generic_category().message(errno));
  }
  return contents;
}

Result<Source> parseFile(const std::string& path) {
  auto text = readFile(path);
  if (!text) return Error("kubeconfig: " + text.error().message());
  std::error_code ec;
  const fs::path absolute = fs::absolute(fs::path(path), ec);
  Source source{path, ec ? fs::path(path).parent_path() : absolute.parent_path(), {}};
  try {
    source.root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return fileError(path, std::string("invalid YAML: ") + e.what());
  }
  if (!source.root.IsNull() && !source.root.IsMap()) {
    return fileError(path, "expected a mapping at the top level");
  }
  return source;
}

// The value of an optional string field: empty when absent or null, an error when it is not a
// scalar.
Result<std::string> stringField(const Entry& entry, const char* key) {
  try {
    const YAML::Node& body = entry.body;
    const YAML::Node node = body[key];
    if (!node.IsDefined() || node.IsNull()) return std::string();
    if (!node.IsScalar()) {
      return fileError(entry.source->path, entry.field + "." + key + ": expected a string");
    }
    return node.Scalar();
  } catch (const YAML::Exception& e) {
    return fileError(entry.source->path, entry.field + "." + key + ": " + e.what());
  }
}

Result<bool> boolField(const Entry& entry, const char* key) {
  auto text = stringField(entry, key);
  if (!text) return text.error();
  if (text->empty()) return false;
  try {
    return entry.body[key].as<bool>();
  } catch (const YAML::Exception&) {
    return fileError(entry.source->path,
                     entry.field + "." + key + ": expected true or false, got " + inQuotes(*text));
  }
}

bool hasField(const Entry& entry, const char* key) {
  const YAML::Node& body = entry.body;
  const YAML::Node node = body[key];
  return node.IsDefined() && !node.IsNull();
}

// Finds `name` in the `list` ("contexts", "clusters" or "users") of the first file that has it;
// the entry's body is the mapping under `item` ("context", "cluster" or "user").
Result<std::optional<Entry>> findNamed(const std::vector<Source>& sources, const char* list,
                                       const char* item, const std::string& name) {
  for (const Source& source : sources) {
    try {
      if (!source.root.IsMap()) continue;
      const YAML::Node& root = source.root;
      const YAML::Node entries = root[list];
      if (!entries.IsDefined() || entries.IsNull()) continue;
      if (!entries.IsSequence())
        return fileError(source.path, std::string(list) + ": expected a list");
      for (std::size_t i = 0; i < entries.size(); ++i) {
        const YAML::Node entry = entries[i];
        const std::string where = std::string(list) + "[" + std::to_string(i) + "]";
        if (!entry.IsMap()) return fileError(source.path, where + ": expected a mapping");
        const YAML::Node entryName = entry["name"];
        if (!entryName.IsDefined() || !entryName.IsScalar()) {
          return fileError(source.path, where + ".name: missing");
        }
        if (entryName.Scalar() != name) continue;
        const std::string field = std::string(list) + "[" + name + "]";
        const YAML::Node body = entry[item];
        if (body.IsDefined() && !body.IsNull() && !body.IsMap()) {
          return fileError(source.path, field + "." + item + ": expected a mapping");
        }
        // A missing body is an entry with every field unset.
        return std::optional<Entry>(
            Entry{&source, body.IsMap() ? body : YAML::Node(YAML::NodeType::Map), field});
      }
    } catch (const YAML::Exception& e) {
      return fileError(source.path, std::string(list) + ": " + e.what());
    }
  }
  return std::optional<Entry>();
}

fs::path resolve(const Source& source, const std::string& file) {
  const fs::path path(file);
  return path.is_absolute() ? path : source.dir / path;
}

bool looksLikePem(const std::string& text) { return text.find("-----BEGIN ") != std::string::npos; }

// Reads PEM material given inline (`dataKey`, base64) or as a file (`fileKey`); at most one may
// be set. Returns the PEM (empty when neither is set) and sets `fromFile` to the file's path.
Result<std::string> pemField(const Entry& entry, const char* dataKey, const char* fileKey,
                             std::string& fromFile) {
  auto data = stringField(entry, dataKey);
  if (!data) return data.error();
  auto file = stringField(entry, fileKey);
  if (!file) return file.error();
  const std::string& path = entry.source->path;
  if (!data->empty() && !file->empty()) {
    return fileError(path,
                     entry.field + ": both " + dataKey + " and " + fileKey + " are set; keep one");
  }
  std::string pem;
  std::string field;
  if (!data->empty()) {
    field = entry.field + "." + dataKey;
    auto decoded = decodeBase64(*data);
    if (!decoded) return fileError(path, field + ": " + decoded.error().message());
    pem = std::move(*decoded);
  } else if (!file->empty()) {
    field = entry.field + "." + fileKey;
    const fs::path resolved = resolve(*entry.source, *file);
    auto contents = readFile(resolved);
    if (!contents) return fileError(path, field + ": " + contents.error().message());
    pem = std::move(*contents);
    fromFile = resolved.string();
  } else {
    return std::string();
  }
  if (!looksLikePem(pem)) {
    return fileError(path, field + ": not PEM (no \"-----BEGIN\" line)");
  }
  return pem;
}

// Rejects settings this client cannot honour; ignoring them would connect differently (or as a
// different identity) than kubectl would.
Status rejectUnsupported(const Entry& entry,
                         std::initializer_list<std::pair<const char*, const char*>> fields) {
  for (const auto& [key, why] : fields) {
    if (hasField(entry, key)) {
      return fileError(entry.source->path, entry.field + "." + key + ": " + why);
    }
  }
  return {};
}

Status applyCluster(const Entry& cluster, RestConfig& config) {
  const std::string& path = cluster.source->path;
  if (auto unsupported = rejectUnsupported(
          cluster, {{"proxy-url", "proxies are not supported by this client"},
                    {"tls-server-name", "overriding the TLS server name is not supported"}});
      !unsupported) {
    return unsupported;
  }
  auto server = stringField(cluster, "server");
  if (!server) return server.error();
  if (server->empty()) return fileError(path, cluster.field + ".server: missing");
  if (server->rfind("https://", 0) != 0 && server->rfind("http://", 0) != 0) {
    return fileError(path, cluster.field + ".server: " + inQuotes(*server) +
                               " does not start with https:// or http://");
  }
  while (server->size() > 1 && server->back() == '/') server->pop_back();
  config.server = std::move(*server);

  auto ca = pemField(cluster, "certificate-authority-data", "certificate-authority", config.caFile);
  if (!ca) return ca.error();
  config.caPem = std::move(*ca);

  auto insecure = boolField(cluster, "insecure-skip-tls-verify");
  if (!insecure) return insecure.error();
  if (*insecure && !config.caPem.empty()) {
    return fileError(path, cluster.field +
                               ": insecure-skip-tls-verify and a certificate authority are both "
                               "set; keep one");
  }
  config.insecureSkipTlsVerify = *insecure;
  return {};
}

Status applyUser(const Entry& user, RestConfig& config) {
  const std::string& path = user.source->path;
  if (auto unsupported = rejectUnsupported(
          user, {{"exec",
                  "credential plugins are not supported; use a client certificate or "
                  "a token"},
                 {"auth-provider",
                  "auth providers are not supported; use a client "
                  "certificate or a token"},
                 {"username", "basic authentication is not supported"},
                 {"password", "basic authentication is not supported"},
                 {"as", "impersonation is not supported"},
                 {"as-groups", "impersonation is not supported"},
                 {"as-uid", "impersonation is not supported"},
                 {"as-user-extra", "impersonation is not supported"}});
      !unsupported) {
    return unsupported;
  }

  auto cert = pemField(user, "client-certificate-data", "client-certificate", config.certFile);
  if (!cert) return cert.error();
  auto key = pemField(user, "client-key-data", "client-key", config.keyFile);
  if (!key) return key.error();
  if (cert->empty() != key->empty()) {
    return fileError(
        path, user.field + (cert->empty() ? ": client-key is set but client-certificate is not"
                                          : ": client-certificate is set but client-key is not"));
  }
  config.clientCertPem = std::move(*cert);
  config.clientKeyPem = std::move(*key);

  auto token = stringField(user, "token");
  if (!token) return token.error();
  auto tokenFile = stringField(user, "tokenFile");
  if (!tokenFile) return tokenFile.error();
  if (!tokenFile->empty()) {
    // As in client-go, a token file wins over an inline token and is re-read later.
    const fs::path resolved = resolve(*user.source, *tokenFile);
    auto contents = readFile(resolved);
    if (!contents) return fileError(path, user.field + ".tokenFile: " + contents.error().message());
    const auto end = contents->find_last_not_of(" \t\r\n");
    contents->erase(end == std::string::npos ? 0 : end + 1);
    if (contents->empty()) {
      return fileError(path, user.field + ".tokenFile: " + resolved.string() + " is empty");
    }
    config.bearerToken = std::move(*contents);
    config.tokenFile = resolved.string();
  } else {
    config.bearerToken = std::move(*token);
  }
  return {};
}

std::string joinPaths(const std::vector<Source>& sources) {
  std::string joined;
  for (const Source& source : sources) {
    if (!joined.empty()) joined += ":";
    joined += source.path;
  }
  return joined;
}

Result<RestConfig> resolveConfig(const std::vector<Source>& sources,
                                 const std::optional<std::string>& requested) {
  const std::string files = joinPaths(sources);

  std::string contextName = requested.value_or("");
  if (!requested) {
    for (const Source& source : sources) {
      if (!source.root.IsMap()) continue;
      const YAML::Node& root = source.root;
      const YAML::Node node = root["current-context"];
      if (node.IsDefined() && !node.IsNull()) {
        if (!node.IsScalar()) return fileError(source.path, "current-context: expected a string");
        contextName = node.Scalar();
        if (!contextName.empty()) break;
      }
    }
    if (contextName.empty()) {
      return fileError(files, "current-context is not set and no context was given");
    }
  }
  if (contextName.empty()) return fileError(files, "the requested context name is empty");

  auto context = findNamed(sources, "contexts", "context", contextName);
  if (!context) return context.error();
  if (!*context) return fileError(files, "context " + inQuotes(contextName) + " not found");

  auto clusterName = stringField(**context, "cluster");
  if (!clusterName) return clusterName.error();
  if (clusterName->empty()) {
    return fileError((*context)->source->path, (*context)->field + ".cluster: missing");
  }
  auto userName = stringField(**context, "user");
  if (!userName) return userName.error();
  auto ns = stringField(**context, "namespace");
  if (!ns) return ns.error();

  RestConfig config;
  if (!ns->empty()) config.defaultNamespace = std::move(*ns);

  auto cluster = findNamed(sources, "clusters", "cluster", *clusterName);
  if (!cluster) return cluster.error();
  if (!*cluster) {
    return fileError(files, "cluster " + inQuotes(*clusterName) + " (from context " +
                                inQuotes(contextName) + ") not found");
  }
  if (auto applied = applyCluster(**cluster, config); !applied) return applied.error();

  // A context without a user connects anonymously, as with kubectl.
  if (!userName->empty()) {
    auto user = findNamed(sources, "users", "user", *userName);
    if (!user) return user.error();
    if (!*user) {
      return fileError(files, "user " + inQuotes(*userName) + " (from context " +
                                  inQuotes(contextName) + ") not found");
    }
    if (auto applied = applyUser(**user, config); !applied) return applied.error();
  }
  return config;
}

}  // namespace

Result<RestConfig> loadKubeconfig(const std::string& path,
                                  const std::optional<std::string>& context) {
  auto source = parseFile(path);
  if (!source) return source.error();
  std::vector<Source> sources;
  sources.push_back(std::move(*source));
  return resolveConfig(sources, context);
}

Result<RestConfig> loadKubeconfigFiles(const std::vector<std::string>& paths,
                                       const std::optional<std::string>& context) {
  std::vector<Source> sources;
  std::vector<fs::path> seen;
  std::string listed;
  for (const std::string& path : paths) {
    if (path.empty()) continue;
    if (!listed.empty()) listed += ":";
    listed += path;
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(path, ec);
    if (!ec && std::find(seen.begin(), seen.end(), canonical) != seen.end()) continue;
    if (!ec) seen.push_back(canonical);
    if (!fs::exists(path, ec)) continue;
    auto source = parseFile(path);
    if (!source) return source.error();
    sources.push_back(std::move(*source));
  }
  if (sources.empty()) {
    return Error("kubeconfig " + listed + ": none of the listed files exists");
  }
  return resolveConfig(sources, context);
}

Result<RestConfig> loadDefaultConfig(const std::optional<std::string>& context) {
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::vector<std::string> paths;
    std::string_view rest(env);
    while (true) {
      const auto colon = rest.find(':');
      paths.emplace_back(rest.substr(0, colon));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
    auto config = loadKubeconfigFiles(paths, context);
    if (!config) return config.error().withContext("$KUBECONFIG");
    return config;
  }
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') {
    const fs::path path = fs::path(home) / ".kube" / "config";
    std::error_code ec;
    if (fs::exists(path, ec) || !runningInCluster()) return loadKubeconfig(path.string(), context);
  }
  if (runningInCluster()) {
    if (context) {
      return Error("context \"" + *context +
                   "\" requested, but there is no kubeconfig (neither $KUBECONFIG nor "
                   "~/.kube/config) and the in-cluster config has no contexts");
    }
    return loadInClusterConfig();
  }
  return Error(
      "no kubeconfig: neither $KUBECONFIG nor $HOME is set, and not in a cluster "
      "($KUBERNETES_SERVICE_HOST is not set)");
}

}  // namespace va::kube
