#pragma once
// Template variables in rollout commands, paths and expectations: {{artifact.path}},
// {{device.name}}, {{tenant.settings.KEY}}, ... Values substituted into a shell command are
// single-quoted, so a device name or a setting can never inject shell syntax.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/error.hpp"

namespace fleet::model {

/// The variables a template may use, apart from tenant.settings.KEY.
inline constexpr std::string_view template_variables[] = {
    "artifact.path", "artifact.name", "artifact.version", "artifact.sha256",
    "device.name",   "device.type",   "tenant.name",
};

/// Checks a template's syntax and variable names; a usage error names the first problem.
util::Result<void> check_template(std::string_view text);

/// Every problem of a template: a syntax error, or each unknown variable; empty when there is none.
std::vector<std::string> template_problems(std::string_view text);

/// The keys of the `tenant.settings.KEY` variables a template uses, in order; empty for a template
/// with a syntax error (reported by template_problems).
std::vector<std::string> template_settings(std::string_view text);

/// Quotes a value for a POSIX shell: 'value', with each ' written as '\''.
std::string shell_quote(std::string_view value);

/// Values of the variables for one device; settings are the tenant's spec.settings as text.
struct TemplateValues {
    std::map<std::string, std::string, std::less<>> values;    ///< "artifact.path" -> "/tmp/x"
    std::map<std::string, std::string, std::less<>> settings;  ///< "timezone" -> "Europe/Berlin"
};

/// Substitutes the variables; with shell, every value is shell-quoted. A setting the tenant does
/// not have is a usage error naming it.
util::Result<std::string> render_template(std::string_view text, const TemplateValues& values, bool shell);

} // namespace fleet::model
