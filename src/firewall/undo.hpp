#pragma once
// The undo log of one `firewall apply`: each step that changed the kernel records how to put back
// what was there before it; when a later step fails, the steps are reverted newest first, so an
// apply is all or nothing. Control plane only.

#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace dnsfence::firewall {

class Undo {
 public:
  Undo() = default;
  Undo(const Undo&) = delete;
  Undo& operator=(const Undo&) = delete;
  /// Reverts whatever was neither committed nor rolled back (an exception left apply early).
  ~Undo() { (void)rollback(); }

  /// Records how to revert the step just done; `what` names it if reverting fails.
  void push(std::string what, std::function<void()> revert) { steps_.emplace_back(std::move(what), std::move(revert)); }

  /// Reverts every recorded step, newest first, each even if an earlier one failed; returns
  /// "WHAT: ERROR" for each that could not be reverted (empty: the kernel is as it was). Clears.
  std::vector<std::string> rollback() noexcept {
    std::vector<std::string> failed;
    while (!steps_.empty()) {
      auto [what, revert] = std::move(steps_.back());
      steps_.pop_back();
      try {
        revert();
      } catch (const std::exception& e) {
        failed.push_back(what + ": " + e.what());
      } catch (...) {
        failed.push_back(what + ": unknown error");
      }
    }
    return failed;
  }

  /// Keeps every step: forgets the log.
  void commit() noexcept { steps_.clear(); }

 private:
  std::vector<std::pair<std::string, std::function<void()>>> steps_;
};

}  // namespace dnsfence::firewall
