// The language center's optional model backend: an OpenAI-compatible chat-completions endpoint
// with tool calling. Each intent of the assistant is offered as a tool whose parameters are its
// slots (plus an out_of_scope tool); the model's tool call names the intent and gives the slot
// values. Any failure (timeout, connection, non-2xx, no or unknown tool call, arguments that
// are not an object) is an error, and the caller falls back to the built-in NLU.
// Tolerated variants: tool calls without an id, arguments given as an object instead of a JSON
// string, numbers and booleans as slot values, the legacy "function_call" field.
//   OpenAiBackend backend({.baseUrl = "http://llm:8000/v1", .model = "m", .timeout = 5s});
//   Result<ModelAnswer> answer = backend.understand(assistant, "table for 2 at 7pm");
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "workloads/common/config.h"
#include "workloads/common/http_client.h"
#include "workloads/common/result.h"
#include "workloads/nlu/assistant.h"

namespace va::language_center {

// What the model decided: an intent of the assistant (or nlu::kOutOfScopeIntent) and the slot
// values it read from the utterance (only slots the intent declares).
struct ModelAnswer {
  std::string intent;
  std::map<std::string, std::string, std::less<>> slots;
};

struct OpenAiOptions {
  std::string baseUrl;  // ".../v1"; the request goes to baseUrl + "/chat/completions"
  std::string model;
  std::optional<va::service::Secret> apiKey;  // sent as "Authorization: Bearer ..."
  std::chrono::milliseconds timeout{5000};    // the whole call; then the built-in NLU answers
};

class OpenAiBackend {
 public:
  explicit OpenAiBackend(OpenAiOptions options);

  [[nodiscard]] va::service::Result<ModelAnswer> understand(const nlu::Assistant& assistant,
                                                            std::string_view text) const;

  // The request body for an utterance (tools from the assistant's intents).
  [[nodiscard]] nlohmann::json requestBody(const nlu::Assistant& assistant,
                                           std::string_view text) const;

  [[nodiscard]] const OpenAiOptions& options() const { return options_; }

 private:
  OpenAiOptions options_;
  va::service::HttpClient client_;
};

// Reads a chat-completions response body into an answer for `assistant`.
va::service::Result<ModelAnswer> parseChatCompletion(const nlu::Assistant& assistant,
                                                     std::string_view body);

}  // namespace va::language_center
