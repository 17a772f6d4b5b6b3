// The swupdate profile against Debian's real swupdate (2022.12, built for signed images): its
// embedded web server on a free loopback port, a signing certificate made here, .swu files
// (cpio "crc" archives with a CMS-signed sw-description) installing with the rawfile handler
// into the test's directory.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdio>

#include "core/transport/http.hpp"
#include "core/util/sha256.hpp"
#include "tests/support/background.hpp"
#include "tests/support/process.hpp"

using namespace fleet;
using namespace std::chrono_literals;
using transport::Failure;
using transport::Outcome;

namespace {

/// One entry of a cpio archive in SWUpdate's "070702" (newc with checksum) format.
std::string cpio_entry(const std::string& name, const std::string& data, unsigned inode)
{
    unsigned sum = 0;
    for (unsigned char c : data) sum += c;
    char header[111];
    std::snprintf(header, sizeof header, "070702%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", inode,
                  0100644u, 0u, 0u, 1u, 0u, data.size(), 0u, 0u, 0u, 0u, name.size() + 1, sum);
    std::string out = header + name + '\0';
    out.append((4 - out.size() % 4) % 4, '\0');
    out += data;
    out.append((4 - data.size() % 4) % 4, '\0');
    return out;
}

/// A signed .swu installing payload to target; digest overrides the payload's SHA-256 in sw-description.
std::string make_swu(const test::TempDir& dir, const std::string& name, const std::string& payload,
                     const std::string& target, std::string digest = {})
{
    if (digest.empty()) digest = util::sha256_hex(payload);
    std::string description = "software =\n{\n\tversion = \"1.0.0\";\n\thardware-compatibility: [ \"1.0\" ];\n"
                              "\tfiles: (\n\t\t{\n\t\t\tfilename = \"payload.bin\";\n\t\t\tpath = \"" +
                              target + "\";\n\t\t\tsha256 = \"" + digest + "\";\n\t\t}\n\t);\n};\n";
    auto desc = dir.write(name + ".desc", description);
    auto sig = dir.path() / (name + ".sig");
    auto r = test::run_process("/usr/bin/openssl",
                               {"cms", "-sign", "-in", desc.string(), "-out", sig.string(), "-signer",
                                (dir.path() / "sign.crt").string(), "-inkey", (dir.path() / "sign.key").string(),
                                "-outform", "DER", "-nosmimecap", "-binary"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::string archive = cpio_entry("sw-description", description, 1) +
                          cpio_entry("sw-description.sig", test::read_file(sig), 2) +
                          cpio_entry("payload.bin", payload, 3) + cpio_entry("TRAILER!!!", "", 0);
    return dir.write(name + ".swu", archive).string();
}

/// Debian's swupdate with its web server, checking signatures against a certificate made here.
struct SwupdateDevice {
    test::TempDir dir;
    int port = test::free_port();
    std::unique_ptr<test::BackgroundProcess> process;

    SwupdateDevice()
    {
        auto r = test::run_process("/usr/bin/openssl",
                                   {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                                    (dir.path() / "sign.key").string(), "-out", (dir.path() / "sign.crt").string(),
                                    "-days", "2", "-subj", "/CN=fleet-swu-signer", "-addext",
                                    "keyUsage=digitalSignature", "-addext", "extendedKeyUsage=emailProtection"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        std::filesystem::create_directories(dir.path() / "www");
        std::filesystem::create_directories(dir.path() / "tmp");
        std::string web = "-r " + (dir.path() / "www").string() + " -p " + std::to_string(port);
        process = std::make_unique<test::BackgroundProcess>(
            "/usr/bin/swupdate",
            std::vector<std::string>{"-v", "-H", "fleet:1.0", "-k", (dir.path() / "sign.crt").string(), "-w", web},
            std::map<std::string, std::string>{{"TMPDIR", (dir.path() / "tmp").string()}});
        process->wait_for_line("Mongoose web server");
    }

    transport::HttpJob job(const std::string& swu, std::chrono::milliseconds timeout) const
    {
        transport::HttpJob job;
        job.device = "swu-1";
        job.base_url = "http://127.0.0.1:" + std::to_string(port);
        job.profile = "swupdate";
        job.upload_file = swu;
        job.connect_timeout = 5s;
        job.timeout = timeout;
        return job;
    }
};

Outcome push(const transport::HttpJob& job)
{
    Outcome outcome;
    transport::HttpClient client(2);
    client.submit(job, [&](Outcome o) { outcome = std::move(o); });
    client.wait();
    return outcome;
}

std::string joined(const std::vector<std::string>& lines)
{
    std::string all;
    for (const auto& l : lines) all += l + "\n";
    return all;
}

} // namespace

TEST_CASE("swupdate profile: SUCCESS installs, FAILURE keeps the device's messages, silence times out",
          "[http][swupdate]")
{
    SwupdateDevice device;
    std::string payload = "firmware 1.0.0\n" + std::string(200000, 'x');
    auto installed = device.dir.path() / "installed.bin";

    auto good = make_swu(device.dir, "good", payload, installed.string());
    auto ok = push(device.job(good, 30s));
    INFO(ok.message << "\n" << joined(ok.messages) << device.process->output());
    CHECK(ok.ok());
    CHECK(ok.http_status == 200);
    CHECK(test::read_file(installed) == payload);

    // The signature is valid, the image's hash is not: SWUpdate accepts the upload and fails the install.
    auto broken = make_swu(device.dir, "broken", payload, (device.dir.path() / "other.bin").string(),
                           util::sha256_hex("something else"));
    auto failed = push(device.job(broken, 30s));
    INFO(failed.message << "\n" << joined(failed.messages));
    CHECK(failed.failure == Failure::remote);
    CHECK_FALSE(failed.messages.empty());
    CHECK(joined(failed.messages).find("HASH mismatch") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(device.dir.path() / "other.bin"));

    // The install blocks opening a FIFO nobody reads: the upload is accepted, no result ever comes.
    auto fifo = device.dir.path() / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto stuck = make_swu(device.dir, "stuck", payload, fifo.string());
    auto silent = push(device.job(stuck, 3s));
    INFO(silent.message);
    CHECK(silent.failure == Failure::timeout);
    CHECK(silent.http_status == 200);
    CHECK(silent.elapsed >= 3s);
}
