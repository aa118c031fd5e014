#include "operator/kube/resource_path.h"

namespace va::kube {
namespace {

bool isUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void appendEscaped(std::string& out, std::string_view text, bool escapeDots) {
  constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : text) {
    if (isUnreserved(c) && !(escapeDots && c == '.')) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4U]);
      out.push_back(kHex[byte & 0x0FU]);
    }
  }
}

}  // namespace

std::string escapePathSegment(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  // curl and servers resolve "." and ".." segments, which would change the path's meaning.
  appendEscaped(out, segment, segment == "." || segment == "..");
  return out;
}

std::string resourcePath(std::string_view group, std::string_view version,
                         std::string_view resource, std::string_view ns, std::string_view name) {
  std::string path = group.empty() ? "/api/" : "/apis/" + std::string(group) + "/";
  path += version;
  if (!ns.empty()) {
    path += "/namespaces/";
    path += escapePathSegment(ns);
  }
  path += "/";
  path += resource;
  if (!name.empty()) {
    path += "/";
    path += escapePathSegment(name);
  }
  return path;
}

std::string withQuery(std::string_view path, std::string_view key, std::string_view value) {
  std::string out(path);
  out.push_back(out.find('?') == std::string::npos ? '?' : '&');
  appendEscaped(out, key, false);
  out.push_back('=');
  appendEscaped(out, value, false);
  return out;
}

}  // namespace va::kube
