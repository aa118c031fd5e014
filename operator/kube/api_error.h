// A failed call to the Kubernetes API server, typed like apimachinery's errors: the HTTP code
// and the server's Status (reason, message, causes), or a transport failure with no answer.
//   auto got = client.get(path);
//   if (!got && got.error().isNotFound()) { /* create it */ }
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/kube/result.h"

namespace va::kube {

// One entry of Status.details.causes, e.g. {"FieldValueRequired", "spec.replicas", "Required"}.
struct StatusCause {
  std::string type;
  std::string field;
  std::string message;
};

// Status.details: which object the failure is about and why, field by field.
struct StatusDetails {
  std::string name;
  std::string group;
  std::string kind;
  std::vector<StatusCause> causes;
  std::optional<int> retryAfterSeconds;
};

class ApiError {
 public:
  enum class Kind {
    kStatus,     // the server answered with a non-2xx code: see code() and reason()
    kTransport,  // no HTTP answer: DNS, connection refused, TLS failure, reset (curl errors)
    kTimeout,    // the connect or request deadline passed before a full answer arrived
    kEncode,     // the request could not be built, e.g. a body that is not valid UTF-8
    kDecode,     // a 2xx answer whose body is not the JSON the call expects
  };

  // From a non-2xx answer. A metav1.Status body is parsed; any other body becomes the message
  // (truncated). retryAfterHeader is the raw Retry-After header value, if any.
  static ApiError fromResponse(int httpCode, std::string_view body,
                               std::string_view retryAfterHeader = {});
  static ApiError transport(std::string message);
  static ApiError timeout(std::string message);
  static ApiError encode(std::string message);
  static ApiError decode(int httpCode, std::string message);

  // The same error naming the call that failed, e.g. ("GET", "/api/v1/namespaces/x").
  [[nodiscard]] ApiError withRequest(std::string_view method, std::string_view path) const;

  [[nodiscard]] Kind kind() const { return kind_; }
  // The HTTP status code; 0 when no answer arrived.
  [[nodiscard]] int code() const { return code_; }
  // Status.reason, e.g. "NotFound"; empty when the body was not a Status.
  [[nodiscard]] const std::string& reason() const { return reason_; }
  // Status.message, else the (truncated) body, else the transport failure.
  [[nodiscard]] const std::string& message() const { return message_; }
  [[nodiscard]] const StatusDetails& details() const { return details_; }
  [[nodiscard]] const std::vector<StatusCause>& causes() const { return details_.causes; }
  // "GET /path", empty until withRequest().
  [[nodiscard]] const std::string& request() const { return request_; }
  // Seconds the server asks the client to wait: the Retry-After header (delta-seconds form),
  // else Status.details.retryAfterSeconds.
  [[nodiscard]] std::optional<int> retryAfterSeconds() const { return retryAfterSeconds_; }

  // Predicates in the manner of k8s.io/apimachinery/pkg/api/errors: the Status reason decides;
  // when the reason is missing or unknown, the HTTP code does.
  // 404.
  [[nodiscard]] bool isNotFound() const;
  // 409 with reason AlreadyExists: a create of a name that exists.
  [[nodiscard]] bool isAlreadyExists() const;
  // 409 with reason Conflict: a write with a stale resourceVersion.
  [[nodiscard]] bool isConflict() const;
  // 410, reasons Gone and Expired: e.g. a watch or continue token that is too old.
  [[nodiscard]] bool isGone() const;
  // 422: see causes() for the fields.
  [[nodiscard]] bool isInvalid() const;
  // 429: see retryAfterSeconds().
  [[nodiscard]] bool isTooManyRequests() const;
  [[nodiscard]] bool isUnauthorized() const;  // 401
  [[nodiscard]] bool isForbidden() const;     // 403
  [[nodiscard]] bool isServerError() const;   // any 5xx
  // No HTTP answer at all (kTransport or kTimeout).
  [[nodiscard]] bool isTransport() const;
  // The client's own deadline passed.
  [[nodiscard]] bool isTimeout() const;

  // One line for logs and users, e.g.
  // `GET /api/v1/namespaces/a/configmaps/b: HTTP 404 NotFound: configmaps "b" not found`.
  [[nodiscard]] std::string toString() const;
  [[nodiscard]] Error toError() const { return Error(toString()); }

 private:
  ApiError(Kind kind, int code, std::string message);
  [[nodiscard]] bool reasonOrCode(std::string_view reason, int code) const;

  Kind kind_;
  int code_;
  std::string reason_;
  std::string message_;
  StatusDetails details_;
  std::optional<int> retryAfterSeconds_;
  std::string request_;
};

// Parses an HTTP Retry-After value in its delta-seconds form ("120"); the HTTP-date form,
// which kube-apiserver does not send, and malformed values give nullopt.
std::optional<int> parseRetryAfter(std::string_view header);

}  // namespace va::kube
