#include "core/rollout/driver.hpp"

#include "core/transport/http.hpp"
#include "core/transport/ssh.hpp"

namespace fleet::rollout {

namespace {

class TransportDriver final : public Driver {
public:
    // SSH sessions are kept between the steps of a device (upload, install, verify): one handshake
    // per device instead of three.
    explicit TransportDriver(std::size_t max_parallel) : m_ssh(max_parallel, true), m_http(max_parallel) {}

    void start(Step step, std::function<void(transport::Outcome)> done) override
    {
        if (step.transport == "ssh") {
            transport::SshJob job;
            job.endpoint = std::move(step.ssh);
            if (step.kind == Step::Kind::transfer) {
                job.upload_file = step.local_file;
                job.upload_sha256 = step.sha256;
                job.upload_path = step.remote_path;
            } else {
                job.command = step.command;
            }
            job.command_timeout = step.timeout;
            m_ssh.submit(std::move(job), std::move(done));
            return;
        }
        transport::HttpJob job;
        job.device = step.device;
        job.base_url = step.http.url;
        job.path = step.path;
        job.method = step.method;
        job.credential = std::move(step.http.credential);
        job.profile = step.profile.empty() ? "generic" : step.profile;
        job.timeout = step.timeout;
        if (step.kind == Step::Kind::transfer) {
            job.upload_file = step.local_file;
            job.upload_sha256 = step.sha256;
            job.form_field = step.form;
        }
        m_http.submit(std::move(job), std::move(done));
    }

    void cancel() override
    {
        m_ssh.cancel();
        m_http.cancel();
    }

private:
    transport::SshPool m_ssh;
    transport::HttpClient m_http;
};

} // namespace

std::unique_ptr<Driver> make_transport_driver(std::size_t max_parallel)
{
    return std::make_unique<TransportDriver>(max_parallel);
}

} // namespace fleet::rollout
