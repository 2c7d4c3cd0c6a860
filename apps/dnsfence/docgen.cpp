#include "docgen.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace dnsfence::app {
namespace {

std::vector<const CLI::App*> visible_subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); });
}

// troff-escapes text: backslashes and leading dots/quotes.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string option_synopsis(const CLI::Option& o) {
  std::string names;
  for (const auto& s : o.get_snames()) names += (names.empty() ? "-" : ", -") + s;
  for (const auto& l : o.get_lnames()) names += (names.empty() ? "--" : ", --") + l;
  if (o.get_positional() && names.empty()) names = o.get_name();
  if (o.get_expected_min() > 0 && !o.get_positional()) names += " " + o.get_type_name();
  return names;
}

std::string full_name(const CLI::App& root, const CLI::App& cmd) {
  return &root == &cmd ? root.get_name() : root.get_name() + "-" + cmd.get_name();
}

std::vector<std::string> long_options(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::Option* o : app.get_options())
    for (const auto& l : o->get_lnames()) out.push_back("--" + l);
  return out;
}

}  // namespace

std::string render_man(const CLI::App& root, const CLI::App& cmd, const std::string& version) {
  const std::string name = full_name(root, cmd);
  std::ostringstream m;
  m << ".TH " << roff(name) << " 8 \"\" \"" << roff(version) << "\" \"dnsfence manual\"\n";
  m << ".SH NAME\n" << roff(name) << " \\- " << roff(cmd.get_description()) << "\n";
  m << ".SH SYNOPSIS\n.B " << roff(&root == &cmd ? root.get_name() : root.get_name() + " " + cmd.get_name())
    << "\n[\\fIOPTIONS\\fR]" << (visible_subcommands(cmd).empty() ? "" : " \\fISUBCOMMAND\\fR") << "\n";
  m << ".SH DESCRIPTION\n" << roff(cmd.get_description()) << "\n";
  m << ".SH OPTIONS\n";
  for (const CLI::Option* o : cmd.get_options()) {
    m << ".TP\n.B " << roff(option_synopsis(*o)) << "\n" << roff(o->get_description()) << "\n";
  }
  if (const auto subs = visible_subcommands(cmd); !subs.empty()) {
    m << ".SH SUBCOMMANDS\n";
    for (const CLI::App* s : subs) {
      m << ".SS " << roff(s->get_name()) << "\n" << roff(s->get_description()) << "\n";
      for (const CLI::Option* o : s->get_options())
        m << ".TP\n.B " << roff(option_synopsis(*o)) << "\n" << roff(o->get_description()) << "\n";
    }
  }
  m << ".SH SEE ALSO\n";
  if (&root != &cmd) m << ".BR " << root.get_name() << " (8)\n";
  for (const CLI::App* s : visible_subcommands(root))
    if (s != &cmd) m << ".BR " << full_name(root, *s) << " (8)\n";
  return m.str();
}

std::string render_bash_completion(const CLI::App& root) {
  std::ostringstream b;
  const std::string fn = "_" + root.get_name();
  b << "# bash completion for " << root.get_name() << " (generated; do not edit)\n";
  b << fn << "() {\n  local cur=${COMP_WORDS[COMP_CWORD]} words=\"\"\n  case \"${COMP_WORDS[1]}\" in\n";
  std::string top;
  for (const CLI::App* s : visible_subcommands(root)) {
    top += s->get_name() + " ";
    std::string words;
    for (const CLI::App* s2 : visible_subcommands(*s)) words += s2->get_name() + " ";
    for (const auto& o : long_options(*s)) words += o + " ";
    b << "    " << s->get_name() << ") words=\"" << words << "\" ;;\n";
  }
  for (const auto& o : long_options(root)) top += o + " ";
  b << "    *) words=\"" << top << "\" ;;\n  esac\n";
  b << "  [ \"$COMP_CWORD\" -eq 1 ] && words=\"" << top << "\"\n";
  b << "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\n";
  b << "complete -o default -F " << fn << " " << root.get_name() << "\n";
  return b.str();
}

std::string render_zsh_completion(const CLI::App& root) {
  return "#compdef " + root.get_name() + "\n# zsh completion (generated; do not edit): reuses the bash definition\n" +
         "autoload -U +X bashcompinit && bashcompinit\n" + render_bash_completion(root);
}

void add_generate_command(CLI::App& root, const std::string& version) {
  auto* gen = root.add_subcommand("generate", "Write man pages or shell completions from the CLI definitions");
  gen->group("");  // hidden: a build tool, not a user command
  gen->require_subcommand(1);
  auto dir = std::make_shared<std::string>();
  auto* man = gen->add_subcommand("man", "Write dnsfence.8 and dnsfence-<command>.8 into DIR");
  man->add_option("dir", *dir, "Output directory")->required();
  man->callback([&root, dir, version] {
    std::filesystem::create_directories(*dir);
    std::ofstream(*dir + "/" + root.get_name() + ".8") << render_man(root, root, version);
    for (const CLI::App* s : visible_subcommands(root))
      std::ofstream(*dir + "/" + full_name(root, *s) + ".8") << render_man(root, *s, version);
  });
  gen->add_subcommand("bash", "Print the bash completion script")->callback([&root] {
    std::cout << render_bash_completion(root);
  });
  gen->add_subcommand("zsh", "Print the zsh completion script")->callback([&root] {
    std::cout << render_zsh_completion(root);
  });
}

}  // namespace dnsfence::app
