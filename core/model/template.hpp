#pragma once
// Template variables in rollout commands, paths and expectations: {{artifact.path}},
// {{device.name}}, {{tenant.settings.KEY}}, ...
//
// Values never become shell syntax. In a shell command each variable is replaced by a reference to a
// shell variable that a prefix written by fleetadm defines with strict single quotes:
//   mender install {{artifact.path}}   →   FLEET_V1='/tmp/fw.mender'; mender install "${FLEET_V1}"
// The reference is "${FLEET_Vn}" outside quotes and ${FLEET_Vn} inside double quotes; both expand
// the value once, as data. Where no reference can be safe (inside single quotes, $'…', backquotes,
// arithmetic, ${…}, or right after a backslash or '$') the template is refused. Values holding
// control characters (NUL, newline, ...) are refused in every context.

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

/// Checks a template's syntax and variable names, and with shell where each variable stands in the
/// command; a usage error names the first problem and its character offset.
util::Result<void> check_template(std::string_view text, bool shell = false);

/// True when the template uses the variable name (e.g. "artifact.path").
bool template_uses(std::string_view text, std::string_view name);

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

/// Substitutes the variables; with shell, as shell variable references defined by a quoted prefix
/// (see above). A setting the tenant does not have, a value with a control character, or a variable
/// in an unsafe shell context is a usage error naming it.
util::Result<std::string> render_template(std::string_view text, const TemplateValues& values, bool shell);

} // namespace fleet::model
