#include "firewall/tools.hpp"

#include <cstdio>
#include <stdexcept>

#include "common/spawn.hpp"

namespace dnsfence::firewall {

std::string run_tool(const std::vector<std::string>& argv, const std::string& input) {
  auto r = common::spawn(argv, {.input = input, .max_output = 256U << 20});
  if (!r.ok()) throw std::runtime_error(r.describe(argv));
  return std::move(r.out);
}

bool try_tool(const std::vector<std::string>& argv) {
  return common::spawn(argv, {.input = "", .max_output = 1U << 20}).ok();
}

void require_tools(std::initializer_list<const char*> programs, const std::string& needed_for) {
  for (const char* p : programs)
    if (common::find_program(p).empty())
      throw std::runtime_error(std::string("cannot run ") + p + ": not found in PATH (needed for " + needed_for +
                               "); nothing was changed");
}

std::string hex_mark(unsigned value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", value);
  return buf;
}

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  return out;
}

}  // namespace dnsfence::firewall
