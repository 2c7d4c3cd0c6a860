#pragma once
// Man pages and shell completions generated from the CLI11 definitions themselves, so the
// documentation cannot drift from the options the binary accepts.

#include <CLI/CLI.hpp>

#include <string>

namespace dnsfence::app {

/// A troff man page (section 8) for `cmd`; `root` names the program ("dnsfence-serve(8)").
std::string render_man(const CLI::App& root, const CLI::App& cmd, const std::string& version);
/// A bash completion script completing subcommands (two levels) and their long options.
std::string render_bash_completion(const CLI::App& root);
/// A zsh completion script (via bashcompinit, so both shells share one definition).
std::string render_zsh_completion(const CLI::App& root);

/// `dnsfence generate man DIR | bash | zsh` (hidden): writes the above.
void add_generate_command(CLI::App& root, const std::string& version);

}  // namespace dnsfence::app
