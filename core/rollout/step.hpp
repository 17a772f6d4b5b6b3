#pragma once
// The steps of delivering an artifact to a device (transfer, install, verify), how they are built
// from a rollout's spec and a device's endpoints, and the Driver that carries them out.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/model/object.hpp"
#include "core/rollout/targets.hpp"
#include "core/transport/endpoints.hpp"
#include "core/transport/transport.hpp"

namespace fleet::rollout {

/// One step of delivering the artifact to one device, fully prepared by the runner.
struct Step {
    enum class Kind { transfer, install, verify };
    Kind kind = Kind::transfer;
    std::string device;
    std::string tenant;
    std::string transport;                 ///< ssh | http
    transport::SshEndpoint ssh;            ///< transport ssh: the device, its credential and bastions
    transport::HttpEndpoint http;          ///< transport http: its URL and credential
    std::string local_file;                ///< transfer: the artifact in the store's area
    std::string sha256;                    ///< transfer: the artifact's SHA-256, checked while it is sent
    std::string remote_path;               ///< ssh transfer: where it goes on the device
    std::string command;                   ///< ssh install/verify: rendered, shell-quoted command
    std::string method;                    ///< http transfer: POST | PUT
    std::string path;                      ///< http transfer/verify: request path
    std::string form;                      ///< http transfer: multipart field; empty: raw body
    std::string profile;                   ///< http: generic | swupdate
    std::chrono::milliseconds timeout{900000};
};

/// "transfer", "install" or "verify".
const char* step_name(Step::Kind kind);

/// Carries out steps; done may be called from any thread, exactly once per step.
class Driver {
public:
    virtual ~Driver() = default;
    virtual void start(Step step, std::function<void(transport::Outcome)> done) = 0;
    /// Ends what runs as soon as possible; their done callbacks still come.
    virtual void cancel() = 0;
};

/// Builds one rollout's steps: which transport reaches a device, its endpoint, and the paths and
/// commands rendered with the device's template values.
class StepBuilder {
public:
    StepBuilder(const Loaded& loaded, std::chrono::milliseconds timeout);

    /// A step, or (no step) the dispatch failure that stands for it: no transport reaches the
    /// device, or the endpoint's credential does not exist.
    struct Built {
        std::optional<Step> step;
        transport::Outcome failure;
    };
    /// The step of kind for device (reached at endpoints). A transfer sends artifact_file, whose
    /// SHA-256 is sha256. Errors: a template that does not render.
    util::Result<Built> build(const model::Object& device, const transport::Endpoints& endpoints, Step::Kind kind,
                              const std::string& artifact_file, const std::string& sha256) const;

    /// The transport that reaches device for this rollout; empty when none does.
    std::string transport_of(const model::Object& device) const;
    /// True when the rollout has a verify step for the transport that reaches device.
    bool verifiable(const model::Object& device) const;
    /// The step after a successful step of kind; none when the device is done.
    std::optional<Step::Kind> next(Step::Kind kind, const std::string& transport) const;
    /// A successful verify's output checked against verify.<transport>.expect: empty when it
    /// contains the expected text (or none is asked for), else why not.
    util::Result<std::string> unexpected_output(const model::Object& device, const std::string& transport,
                                                const std::string& output) const;

private:
    const Loaded& m_l;
    std::chrono::milliseconds m_timeout;
    nlohmann::json m_verify;
    nlohmann::json m_install;
};

} // namespace fleet::rollout
