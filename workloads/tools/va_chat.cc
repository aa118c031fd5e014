// va-chat: talk to a VirtualAssistant from a terminal. Each line typed is a message of one
// conversation; the reply is printed. Exit 2 on bad usage, 1 when the API cannot be reached.
//   va-chat --url http://127.0.0.1:18080 --key-file _output/local/api-key
//   echo "book a table for two" | va-chat --url ... --key-file ... --conversation demo-1
//   va-chat --hash-key KEY      prints "sha256:<hex>" for an API_KEYS_FILE line
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <string_view>

#include "workloads/common/http_client.h"

namespace {

constexpr const char* kUsage =
    "usage: va-chat --url URL (--key-file FILE | VA_API_KEY in the environment)\n"
    "               [--conversation ID] [--user NAME] [--callback-url URL] [--json]\n"
    "       va-chat --hash-key KEY\n";

int usageError(const std::string& message) {
  std::fprintf(stderr, "va-chat: %s\n%s", message.c_str(), kUsage);
  return 2;
}

std::string sha256Hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4U];
    out += kHex[digest[i] & 0xFU];
  }
  return out;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  std::string keyFile;
  std::string conversation;
  std::string user;
  std::string callbackUrl;
  bool rawJson = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    if (arg == "--hash-key") {
      std::string key;
      if (!value(key)) return usageError("--hash-key needs a value");
      std::printf("sha256:%s\n", sha256Hex(key).c_str());
      return 0;
    }
    bool ok = true;
    if (arg == "--url") {
      ok = value(url);
    } else if (arg == "--key-file") {
      ok = value(keyFile);
    } else if (arg == "--conversation") {
      ok = value(conversation);
    } else if (arg == "--user") {
      ok = value(user);
    } else if (arg == "--callback-url") {
      ok = value(callbackUrl);
    } else if (arg == "--json") {
      rawJson = true;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      return usageError("unknown argument " + std::string(arg));
    }
    if (!ok) return usageError(std::string(arg) + " needs a value");
  }
  if (url.empty()) return usageError("--url is required");
  std::string key;
  if (!keyFile.empty()) {
    std::ifstream in(keyFile);
    if (!in) return usageError("--key-file " + keyFile + ": cannot be read");
    std::stringstream text;
    text << in.rdbuf();
    key = trimmed(text.str());
  } else if (const char* env = std::getenv("VA_API_KEY")) {  // NOLINT(concurrency-mt-unsafe)
    key = env;
  }
  if (key.empty()) return usageError("an API key is required (--key-file or VA_API_KEY)");
  if (conversation.empty()) {
    std::random_device random;
    conversation = "chat-" + std::to_string(random()) + std::to_string(random());
  }
  while (url.ends_with('/')) url.pop_back();
  const std::string endpoint = url + "/v1/conversations/" + conversation + "/messages";

  va::service::HttpClientOptions options;
  options.totalTimeout = std::chrono::seconds(30);
  options.propagateContext = false;
  options.userAgent = "va-chat";
  const va::service::HttpClient client(options);
  const bool interactive = isatty(fileno(stdin)) != 0;
  if (interactive)
    std::printf("conversation %s; an empty line or Ctrl-D ends it\n", conversation.c_str());
  std::string line;
  while (true) {
    if (interactive) {
      std::fputs("you> ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    line = trimmed(line);
    if (line.empty()) {
      if (interactive) break;
      continue;
    }
    nlohmann::json body = {{"text", line}};
    if (!user.empty()) body["user"] = user;
    if (!callbackUrl.empty()) body["callback_url"] = callbackUrl;
    const auto reply = client.send(
        {.method = "POST",
         .url = endpoint,
         .headers = {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}},
         .body = body.dump(),
         .idempotent = false});
    if (!reply.ok()) {
      std::fprintf(stderr, "va-chat: %s\n", reply.error().message.c_str());
      return 1;
    }
    const nlohmann::json answer = nlohmann::json::parse(reply->body, nullptr, false);
    if (rawJson) {
      std::printf("%s\n", reply->body.c_str());
    } else if (!reply->ok()) {
      std::string message = reply->body;
      if (answer.is_object() && answer.contains("error")) {
        message = answer["error"].value("message", reply->body);
      }
      std::printf("error %d: %s\n", reply->status, message.c_str());
    } else {
      std::printf("assistant> %s\n", answer["reply"].value("text", "").c_str());
    }
    std::fflush(stdout);
  }
  return 0;
}
