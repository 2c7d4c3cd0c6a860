#pragma once
// The firewall's helper programs (ip, ipset, iptables-restore, ...), run through common::spawn: no
// shell, their standard error in the exception message. Internal to src/firewall.

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace dnsfence::firewall {

/// Runs argv with `input` on its stdin; returns its stdout. Throws std::runtime_error
/// ("ipset restore: exit 1: <its stderr>", "cannot run ipset: No such file or directory") unless
/// it exits 0.
std::string run_tool(const std::vector<std::string>& argv, const std::string& input = "");

/// True when argv runs and exits 0; its output is discarded (for probes and idempotent deletes).
bool try_tool(const std::vector<std::string>& argv);

/// Throws std::runtime_error naming the first of `programs` that is not in PATH and what needs it,
/// so that apply refuses before it touches anything.
void require_tools(std::initializer_list<const char*> programs, const std::string& needed_for);

/// The lines of a tool's output, as views into `text` (keep it alive); no empty last line.
std::vector<std::string_view> lines(std::string_view text);

/// "0x1f": marks as `ip rule` takes and prints them.
std::string hex_mark(unsigned value);

}  // namespace dnsfence::firewall
