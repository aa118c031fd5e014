// Response templates with slot filling: "{name}" is replaced by the value of `name`, "{{" and
// "}}" stand for literal braces.
//   Result<std::string> text = fillTemplate("Booked a table for {party_size} at {time}.",
//                                           {{"party_size", "4"}, {"time", "19:30"}});
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/nlu/result.h"

namespace va::nlu {

// The placeholder names in order of appearance, or an error for an unclosed or empty brace
// ("unclosed { at offset 12").
Result<std::vector<std::string>> templatePlaceholders(std::string_view text);

// Fails when the template is malformed or a placeholder has no value (naming it).
Result<std::string> fillTemplate(std::string_view text,
                                 const std::map<std::string, std::string, std::less<>>& values);

}  // namespace va::nlu
