// An assistant definition, read from YAML and validated before use: intents with example
// utterances, their slots (name, type, required, prompt), response templates and an optional
// action; slot types with synonyms; actions (HTTP method and URL template); and what to do with
// out-of-scope requests. Every error names the field: "intents[3].examples: must be a non-empty
// list". See workloads/nlu/default_assistant.yaml for a complete example.
//   Result<Assistant> assistant = loadAssistant("/etc/va/assistant.yaml");
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/nlu/entities.h"
#include "workloads/nlu/result.h"

namespace va::nlu {

struct SlotSpec {
  std::string name;
  std::string type;  // number, date, time, email, or a slot type of the assistant
  bool required = false;
  std::string prompt;  // asked when the slot is required and missing
};

struct IntentSpec {
  std::string name;
  std::vector<std::string> examples;
  std::vector<SlotSpec> slots;
  std::vector<std::string> responses;  // templates over the slots and variables
  // Extra placeholders the dialogue manager fills in (for example "facts" for recall_fact).
  std::vector<std::string> variables;
  std::string action;  // empty, or the action to call once the required slots are filled
};

// An outbound call the assistant may make (run by the action executor). The placeholders of the
// URL, body and headers are slots of the intents that use it; in the URL they may appear only in
// the path and query (values are URL-encoded), in the body only inside JSON strings (values are
// JSON-escaped).
struct ActionSpec {
  std::string name;
  std::string method;  // GET, POST, PUT, PATCH or DELETE
  std::string url;
  // A JSON body template for POST, PUT and PATCH ("{{" and "}}" are literal braces), or empty:
  //   '{{"date": "{date}", "party_size": "{party_size}"}}'
  std::string body{};
  int timeout_seconds = 5;  // per attempt, 1 to 60
  // Hosts the call (and any redirect) may go to, lower case; by default the URL's host only.
  std::vector<std::string> allowed_hosts{};
  // Slot name -> JSON pointer into the response body ("forecast: /summary").
  std::map<std::string, std::string> result_slots{};
  // Extra request headers, name -> value template.
  std::map<std::string, std::string> headers{};
};

// The host of an http(s) URL, lower case and without brackets or port ("" when there is none).
std::string urlHost(std::string_view url);

struct OutOfScopeSpec {
  float threshold = 0.3F;             // minimum probability of the best intent to accept it
  std::vector<std::string> examples;  // trained as a class of their own
  std::vector<std::string> responses;
};

// The intent name the classifier reports for out-of-scope utterances.
inline constexpr std::string_view kOutOfScopeIntent = "out_of_scope";

struct Assistant {
  std::string name;
  std::vector<IntentSpec> intents;
  std::vector<SlotType> slot_types;
  std::vector<ActionSpec> actions;
  OutOfScopeSpec out_of_scope;

  [[nodiscard]] const IntentSpec* findIntent(std::string_view intent) const;
  [[nodiscard]] const ActionSpec* findAction(std::string_view action) const;
};

Result<Assistant> parseAssistant(std::string_view yaml);
Result<Assistant> loadAssistant(const std::string& path);

}  // namespace va::nlu
