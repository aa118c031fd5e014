// Errors as values at module boundaries: Result<T> holds a T or an error, Status is Result<void>.
//   Result<RestConfig> config = loadKubeconfig(path);
//   if (!config) return config.error();   // an error converts into any Result<U, E>
//   use(config->server);
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace va::kube {

// A failure described for a human: what went wrong and which input or field caused it.
class Error {
 public:
  explicit Error(std::string message) : message_(std::move(message)) {}

  [[nodiscard]] const std::string& message() const { return message_; }

  // The same error with "<context>: " in front, to add the caller's view of what failed.
  [[nodiscard]] Error withContext(std::string_view context) const {
    return Error(std::string(context) + ": " + message_);
  }

 private:
  std::string message_;
};

namespace detail {
[[noreturn]] inline void badResultAccess(const char* what) {
  std::fprintf(stderr, "va::kube::Result: %s\n", what);
  std::abort();
}
}  // namespace detail

// A value of type T or an error of type E. Reading the value of an error (or the error of a
// value) is a programming mistake and aborts with a message.
template <typename T, typename E = Error>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cvref_t<T>, std::remove_cvref_t<E>>,
                "Result<T, E> needs distinct T and E");

 public:
  template <typename U = T,
            typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                        !std::is_same_v<std::remove_cvref_t<U>, Result> &&
                                        !std::is_convertible_v<U&&, E>>>
  Result(U&& value)  // NOLINT(google-explicit-constructor): a value converts implicitly
      : state_(std::in_place_index<0>, std::forward<U>(value)) {}
  Result(E error)  // NOLINT(google-explicit-constructor): an error converts implicitly
      : state_(std::in_place_index<1>, std::move(error)) {}

  [[nodiscard]] bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    checkValue();
    return std::get<0>(state_);
  }
  [[nodiscard]] const T& value() const& {
    checkValue();
    return std::get<0>(state_);
  }
  T&& value() && {
    checkValue();
    return std::get<0>(std::move(state_));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  [[nodiscard]] const E& error() const {
    if (ok()) detail::badResultAccess("error() called on a result that holds a value");
    return std::get<1>(state_);
  }

 private:
  void checkValue() const {
    if (!ok()) detail::badResultAccess("value() called on a result that holds an error");
  }

  std::variant<T, E> state_;
};

// Success or an error, for operations that produce no value. Default-constructed is success.
template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  Result(E error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }

  [[nodiscard]] const E& error() const {
    if (ok()) detail::badResultAccess("error() called on a successful status");
    return *error_;
  }

 private:
  std::optional<E> error_;
};

using Status = Result<void>;

}  // namespace va::kube
