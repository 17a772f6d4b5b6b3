#include "core/rollout/step.hpp"

#include <fmt/format.h>

#include "core/model/template.hpp"
#include "core/transport/http.hpp"
#include "core/rollout/state.hpp"

namespace fleet::rollout {

using nlohmann::json;
using util::Result;

const char* step_name(Step::Kind kind)
{
    switch (kind) {
    case Step::Kind::transfer: return "transfer";
    case Step::Kind::install: return "install";
    case Step::Kind::verify: return "verify";
    }
    return "step";
}

StepBuilder::StepBuilder(const Loaded& loaded, std::chrono::milliseconds timeout)
    : m_l(loaded), m_timeout(timeout), m_verify(loaded.rollout.resource.spec.value("verify", json::object())),
      m_install(loaded.rollout.resource.spec.value("install", json::object()))
{
}

std::string StepBuilder::transport_of(const model::Object& device) const
{
    return pick_transport(m_l.rollout.resource.spec, device.resource.spec).first;
}

bool StepBuilder::verifiable(const model::Object& device) const
{
    auto t = transport_of(device);
    return !t.empty() && m_verify.contains(t);
}

std::optional<Step::Kind> StepBuilder::next(Step::Kind kind, const std::string& transport) const
{
    // SSH pushes the file, then runs the install command; HTTP's upload is the install.
    if (kind == Step::Kind::transfer && transport == "ssh") return Step::Kind::install;
    if (kind != Step::Kind::verify && m_verify.contains(transport)) return Step::Kind::verify;
    return std::nullopt;
}

Result<std::string> StepBuilder::unexpected_output(const model::Object& device, const std::string& transport,
                                                   const std::string& output) const
{
    auto expect = m_verify.value(transport, json::object()).value("expect", "");
    if (expect.empty()) return std::string();
    auto wanted = model::render_template(expect, template_values(m_l, device, ""), false);
    if (!wanted) return std::unexpected(wanted.error());
    if (output.find(*wanted) != std::string::npos) return std::string();
    return fmt::format("output does not contain \"{}\"", *wanted);
}

Result<StepBuilder::Built> StepBuilder::build(const model::Object& device, const transport::Endpoints& endpoints,
                                              Step::Kind kind, const std::string& artifact_file,
                                              const std::string& sha256) const
{
    Built out;
    auto failed = [&](std::string message) {
        out.failure = transport::failed(transport::Failure::credential, std::move(message));
        return out;
    };
    auto [transport_name, why] = pick_transport(m_l.rollout.resource.spec, device.resource.spec);
    if (transport_name.empty()) return failed(why);
    const std::string& problem = transport_name == "ssh" ? endpoints.ssh_problem : endpoints.http_problem;
    if (!problem.empty()) return failed(problem);
    bool ssh = transport_name == "ssh";
    if (ssh ? !endpoints.ssh : !endpoints.http) return failed(fmt::format("no spec.{} endpoint", transport_name));

    Step step;
    step.kind = kind;
    step.device = device.resource.name;
    step.tenant = device.resource.tenant;
    step.transport = transport_name;
    if (ssh)
        step.ssh = *endpoints.ssh;
    else
        step.http = *endpoints.http;
    step.timeout = m_timeout;

    const json install = m_install.value(transport_name, json::object());
    std::string file_name = artifact_file_name(m_l);
    auto values = template_values(m_l, device, file_name);
    auto render = [&](const std::string& text, bool shell) { return model::render_template(text, values, shell); };
    // {{artifact.path}} is where the file lands: the rendered uploadDir (which cannot use it) and the name.
    std::string remote_path = file_name;
    if (ssh) {
        auto dir = render(install.value("uploadDir", "/tmp"), false);
        if (!dir) return std::unexpected(dir.error());
        remote_path = *dir + "/" + file_name;
        values.values["artifact.path"] = remote_path;
    }
    if (kind == Step::Kind::transfer) {
        step.local_file = artifact_file;
        step.sha256 = sha256;
        if (ssh) {
            step.remote_path = remote_path;
        } else {
            auto path = render(install.value("path", "/upload"), false);
            if (!path) return std::unexpected(path.error());
            step.path = *path;
            step.method = install.value("method", "POST");
            step.profile = step.http.profile;
            step.form = install.value("form", step.profile == "swupdate" ? transport::swupdate_form_field : "");
        }
    } else if (kind == Step::Kind::install) {
        auto command = render(install.value("command", ""), true);
        if (!command) return std::unexpected(command.error());
        step.command = *command;
    } else {
        const json v = m_verify.value(transport_name, json::object());
        if (ssh) {
            auto command = render(v.value("command", ""), true);
            if (!command) return std::unexpected(command.error());
            step.command = *command;
        } else {
            auto path = render(v.value("path", "/"), false);
            if (!path) return std::unexpected(path.error());
            step.path = *path;
            step.method = "GET";
            step.profile = "generic";
        }
    }
    out.step = std::move(step);
    return out;
}

} // namespace fleet::rollout
