// Hostile artifact files (issue 18): FIFOs and devices, links and tampered files in the store's
// artifact area, git sources naming the operator's files, owner-only modes, and copies that an
// apply which rolls back leaves behind. The real binary against a real store, a real sshd, a real
// HTTP endpoint and real git repositories.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <fstream>
#include <filesystem>

#include "core/util/sha256.hpp"
#include "tests/support/background.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sshd.hpp"

using namespace fleet;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const char* tenant_doc = "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {name: site}\n";

std::string artifact_doc(const std::string& name, const std::string& file)
{
    return fmt::format("---\napiVersion: fleetadm/v1\nkind: Artifact\nmetadata: {{name: {}, tenant: site}}\n"
                       "spec:\n  file: \"{}\"\n  version: \"1.0\"\n",
                       name, file);
}

/// Runs fleetadm against fleet's store under a hard time limit, so that a hang fails the test
/// (exit 137) instead of stopping the suite; returns the result and how long it took.
std::pair<test::RunResult, std::chrono::milliseconds> timed(const test::Fleet& fleet, std::vector<std::string> args)
{
    args.insert(args.begin(), {"-s", "KILL", "20", FLEETADM_BIN, "--state", fleet.location()});
    auto start = std::chrono::steady_clock::now();
    auto r = test::run_process("/usr/bin/timeout", args, "", {{"HOME", fleet.dir().path().string()}});
    return {r, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)};
}

/// The permission bits of a path (not following a link).
unsigned mode_of(const fs::path& path)
{
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

/// Sets the umask for the life of the object (the binary inherits it).
class Umask {
public:
    explicit Umask(mode_t mask) : m_old(::umask(mask)) {}
    ~Umask() { ::umask(m_old); }
    Umask(const Umask&) = delete;
    Umask& operator=(const Umask&) = delete;

private:
    mode_t m_old;
};

/// A git repository in a temporary directory, driven by the git CLI with its own HOME.
class Repo {
public:
    Repo()
    {
        git({"init", "-q", "-b", "main", work().string()});
        git({"-C", work().string(), "config", "user.name", "Fleet Test"});
        git({"-C", work().string(), "config", "user.email", "test@fleet.invalid"});
    }
    fs::path work() const { return m_dir.path() / "repo"; }
    std::string url() const { return "file://" + work().string(); }
    void write(const std::string& path, const std::string& content) const { m_dir.write("repo/" + path, content); }
    void commit() const
    {
        git({"-C", work().string(), "add", "-A"});
        git({"-C", work().string(), "commit", "-q", "-m", "change"});
    }
    void git(const std::vector<std::string>& args) const
    {
        auto r = test::run_process("/usr/bin/git", args, "",
                                   {{"HOME", m_dir.path().string()}, {"GIT_CONFIG_NOSYSTEM", "1"}});
        INFO("git " << args.front() << ": " << r.err);
        REQUIRE(r.exit_code == 0);
    }

private:
    test::TempDir m_dir;
};

/// Every regular file below dir whose content is text.
std::vector<fs::path> files_holding(const fs::path& dir, const std::string& text)
{
    std::vector<fs::path> found;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        if (it->is_regular_file() && !it->is_symlink() && test::read_file(it->path()) == text)
            found.push_back(it->path());
    return found;
}

/// A tenant `site` with one device reached over a real sshd and an artifact fw already applied
/// (so it sits in the store: the area beside a SQLite file, or the database); the device's upload
/// folder is devdir.
struct SshSite {
    test::Sshd sshd;
    test::Fleet fleet;
    fs::path devdir;
    std::string sha;

    SshSite()
    {
        devdir = sshd.dir() / "device";
        fs::create_directories(devdir);
        REQUIRE(fleet({"init"}).exit_code == 0);
        auto known = fleet.dir().write("known_hosts", sshd.known_hosts_line() + "\n");
        fleet.dir().write("fw.bin", "genuine firmware");
        sha = util::sha256_hex("genuine firmware");
        auto docs = fmt::format(R"({}---
apiVersion: fleetadm/v1
kind: Credential
metadata: {{name: key, tenant: site}}
spec: {{type: ssh-key, privateKeyFile: {}, knownHostsFile: {}}}
---
apiVersion: fleetadm/v1
kind: Device
metadata: {{name: d1, tenant: site, labels: {{fleet: "yes"}}}}
spec: {{deviceType: rpi4, ssh: {{host: 127.0.0.1, port: {}, user: {}, credential: key}}}}
{}---
apiVersion: fleetadm/v1
kind: Rollout
metadata: {{name: up, tenant: site}}
spec:
  artifact: fw
  targets: {{selector: "fleet=yes"}}
  schedule: {{windows: none}}
  install:
    ssh:
      uploadDir: {}
      command: "cp {{{{artifact.path}}}} {}/installed"
)",
                                tenant_doc, sshd.user_key().string(), known.string(), sshd.port(), test::login_name(),
                                artifact_doc("fw", "fw.bin"), devdir.string(), devdir.string());
        auto applied = fleet({"apply", "-f", fleet.dir().write("site.yaml", docs).string()});
        INFO(applied.err);
        REQUIRE(applied.exit_code == 0);
        REQUIRE(fleet.artifact("site", sha) == "genuine firmware");
    }

    /// The file a transport uploads: the area's file beside a SQLite store, or this machine's cache
    /// file of a PostgreSQL store's artifact.
    fs::path local_file() const
    {
        return fleet.on_postgres() ? fleet.artifact_cache() / sha : fleet.state_dir() / "artifacts" / "site" / sha;
    }

    /// Runs the rollout; returns d1's state and reason.
    std::pair<std::string, std::string> run() const
    {
        auto run = fleet({"rollout", "run", "up"});
        INFO(run.out << run.err);
        auto status = json::parse(fleet({"rollout", "status", "up", "-o", "json"}).out);
        for (const auto& d : status["devices"])
            if (d["device"] == "d1") return {d["state"].get<std::string>(), d.value("reason", "")};
        return {"", ""};
    }
};

} // namespace

TEST_CASE("an artifact file that is a FIFO or a device is refused at once with its location", "[artifact][hostile][cli]")
{
    test::Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    fleet.dir().write("fw.bin", "firmware");
    REQUIRE(::mkfifo((fleet.dir().path() / "fw.fifo").c_str(), 0600) == 0);
    auto before = fleet.store_digest();
    // What a run that reads a small regular file costs on this (loaded, sanitized) machine.
    auto baseline = timed(fleet, {"validate", "-f", fleet.dir().write("ok.yaml", std::string(tenant_doc) +
                                                                                     artifact_doc("fw", "fw.bin")).string()});
    REQUIRE(baseline.first.exit_code == 0);
    for (const std::string file : {"fw.fifo", "/dev/zero"}) {
        auto yaml = fleet.dir().write("site.yaml", std::string(tenant_doc) + artifact_doc("fw", file));
        for (const char* command : {"validate", "diff", "apply"}) {
            auto [r, took] = timed(fleet, {command, "-f", yaml.string()});
            INFO(command << " " << file << ": exit " << r.exit_code << "\n" << r.err);
            CHECK(r.exit_code == 2);
            // Within a second of an ordinary run (doubled: the machine running the tests may be loaded).
            CHECK(took < 2 * baseline.second + std::chrono::seconds(1));
            CHECK(contains(r.err, "site.yaml:9:3: spec.file: artifact/fw: "));
            CHECK(contains(r.err, "not a regular file"));
        }
    }
    CHECK(fleet.store_digest() == before);
    CHECK(fleet.artifact_count() == 0);
}

TEST_CASE("an artifact over FLEETADM_MAX_ARTIFACT_SIZE is refused: raising the cap accepts it", "[artifact][hostile][cli]")
{
    test::Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    fleet.dir().write("fw.bin", std::string(3000, 'x'));
    auto yaml = fleet.dir().write("site.yaml", std::string(tenant_doc) + artifact_doc("fw", "fw.bin"));
    auto run = [&](const std::string& cap) {
        return test::run_process(FLEETADM_BIN, {"--state", fleet.location(), "apply", "-f", yaml.string()}, "",
                                 {{"HOME", fleet.dir().path().string()}, {"FLEETADM_MAX_ARTIFACT_SIZE", cap}});
    };
    auto small = run("2K");
    INFO(small.err);
    CHECK(small.exit_code == 2);
    CHECK(contains(small.err, "site.yaml:9:3: spec.file: artifact/fw: "));
    CHECK(contains(small.err, "FLEETADM_MAX_ARTIFACT_SIZE"));
    auto bad = run("lots");
    CHECK(bad.exit_code == 2);
    CHECK(contains(bad.err, "FLEETADM_MAX_ARTIFACT_SIZE=\"lots\""));
    CHECK(fleet.artifact_count() == 0);
    auto raised = run("4K");
    INFO(raised.err);
    CHECK(raised.exit_code == 0);
}

TEST_CASE("a link in the artifact area or cache never reaches a device over SSH", "[artifact][hostile][ssh][cli]")
{
    SshSite site;
    auto secret = site.fleet.dir().write("secret.txt", "root:x:0:0:TOP SECRET");
    fs::create_directories(site.local_file().parent_path());
    fs::remove(site.local_file());
    fs::create_symlink(secret, site.local_file());

    auto [state, reason] = site.run();
    INFO(reason);
    if (site.fleet.on_postgres()) {
        // The cache is only a copy: a link there is replaced by the bytes fetched from the database.
        CHECK(state == "succeeded");
        CHECK(test::read_file(site.devdir / "installed") == "genuine firmware");
        CHECK(fs::is_regular_file(fs::symlink_status(site.local_file())));
    } else {
        CHECK(state == "failed");
        CHECK(contains(reason, site.sha));
        CHECK_FALSE(fs::exists(site.devdir / "installed"));
    }
    // The device side: the linked file is nowhere on the device.
    CHECK(files_holding(site.sshd.dir(), "root:x:0:0:TOP SECRET").empty());
}

TEST_CASE("a stored artifact whose bytes changed fails its upload over SSH and is never installed",
          "[artifact][hostile][ssh][cli]")
{
    SshSite site;
    site.fleet.tamper_artifact("site", site.sha, "evil firmware!!!");

    auto [state, reason] = site.run();
    INFO(reason);
    CHECK(state == "failed");
    CHECK(contains(reason, site.sha));
    CHECK(contains(reason, "SHA-256"));
    CHECK_FALSE(fs::exists(site.devdir / "installed"));
    CHECK(files_holding(site.sshd.dir(), "evil firmware!!!").empty());
}

TEST_CASE("a stored artifact whose bytes changed fails its upload over HTTP, never succeeds", "[artifact][hostile][http][cli]")
{
    test::HttpDevice endpoint;
    test::Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    std::string genuine(200 * 1024, 'G');
    fleet.dir().write("fw.swu", genuine);
    auto base = fmt::format("http://127.0.0.1:{}", endpoint.port());
    auto devices = fmt::format(
        "---\napiVersion: fleetadm/v1\nkind: List\nitems:\n"
        "  - {{apiVersion: fleetadm/v1, kind: Device, metadata: {{name: raw, tenant: site, labels: {{m: raw}}}}, "
        "spec: {{deviceType: imx8, http: {{url: \"{0}\"}}}}}}\n"
        "  - {{apiVersion: fleetadm/v1, kind: Device, metadata: {{name: form, tenant: site, labels: {{m: form}}}}, "
        "spec: {{deviceType: imx8, http: {{url: \"{0}\"}}}}}}\n",
        base);
    auto rollout = [](const std::string& name, const std::string& selector, const std::string& install) {
        return fmt::format("---\napiVersion: fleetadm/v1\nkind: Rollout\nmetadata: {{name: {}, tenant: site}}\nspec:\n"
                           "  artifact: fw\n  targets: {{selector: \"m={}\"}}\n  schedule: {{windows: none}}\n"
                           "  install: {{http: {}}}\n",
                           name, selector, install);
    };
    auto file = fleet.dir().write("site.yaml", std::string(tenant_doc) + artifact_doc("fw", "fw.swu") + devices +
                                                   rollout("raw", "raw", "{method: PUT, path: /upload}") +
                                                   rollout("form", "form", "{method: POST, path: /upload, form: file}"));
    auto applied = fleet({"apply", "-f", file.string()});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);
    auto sha = util::sha256_hex(genuine);
    REQUIRE(fleet.artifact("site", sha) == genuine);
    std::string tampered = genuine;
    tampered[tampered.size() / 2] = 'X';  // same size: only the hash can tell
    fleet.tamper_artifact("site", sha, tampered);

    for (const char* name : {"raw", "form"}) {
        auto run = fleet({"rollout", "run", name});
        INFO(name << ": " << run.out << run.err);
        CHECK(run.exit_code != 0);
        auto status = json::parse(fleet({"rollout", "status", name, "-o", "json"}).out);
        REQUIRE(status["devices"].size() == 1);
        CHECK(status["devices"][0]["state"] == "failed");
        auto reason = status["devices"][0].value("reason", "");
        CHECK(contains(reason, sha));
        CHECK(contains(reason, "SHA-256"));
    }
}

TEST_CASE("a git source's artifacts come from its commit: paths outside the tree are refused", "[artifact][hostile][git][cli]")
{
    test::Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    // The operator's private key, in the HOME the binary runs with.
    auto key = fleet.dir().write(".ssh/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY----- operator");
    auto before = fleet.store_digest();
    Repo repo;
    repo.write("fw/fw.bin", "firmware from the commit");
    repo.write("other/notes.txt", "notes");
    for (const std::string& path : std::vector<std::string>{"~/.ssh/id_ed25519", key.string(), "../outside.bin",
                                                             "fw/../../x.bin", "fw/../fw/../../../etc/passwd"}) {
        repo.write("site.yaml", std::string(tenant_doc) + artifact_doc("fw", path));
        repo.commit();
        auto r = fleet({"apply", "--git", repo.url()});
        INFO(path << "\n" << r.err);
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, ":site.yaml:9:3: spec.file: artifact/fw: "));
        CHECK(fleet.store_digest() == before);
        CHECK(files_holding(fleet.state_dir() / "artifacts", "-----BEGIN OPENSSH PRIVATE KEY----- operator").empty());
        CHECK(fleet.artifact_count() == 0);
    }

    // A file of the tree, relative to its YAML file: read from the commit, not from any work tree.
    repo.write("site.yaml", std::string(tenant_doc) + artifact_doc("fw", "fw/fw.bin"));
    repo.commit();
    repo.write("fw/fw.bin", "uncommitted change");
    auto ok = fleet({"apply", "--git", repo.url()});
    INFO(ok.err);
    REQUIRE(ok.exit_code == 0);
    CHECK(fleet.artifact("site", util::sha256_hex("firmware from the commit")) == "firmware from the commit");
    auto again = fleet({"apply", "--git", repo.url()});
    CHECK(contains(again.out, "0 created, 0 configured, 0 pruned, 2 unchanged"));
}

TEST_CASE("apply --artifact-dir lets a git source name files of one local folder, and only those", "[artifact][hostile][git][cli]")
{
    test::Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    auto allowed = fleet.dir().write("builds/fw-2.bin", "local build");
    auto outside = fleet.dir().write("private/key", "not for devices");
    fs::create_symlink(outside, fleet.dir().path() / "builds" / "link.bin");
    Repo repo;
    auto builds = (fleet.dir().path() / "builds").string();

    for (const std::string& path :
         std::vector<std::string>{outside.string(), builds + "/../private/key", builds + "/link.bin"}) {
        repo.write("site.yaml", std::string(tenant_doc) + artifact_doc("fw", path));
        repo.commit();
        auto r = fleet({"apply", "--git", repo.url(), "--artifact-dir", builds});
        INFO(path << "\n" << r.err);
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, ":site.yaml:9:3: spec.file: artifact/fw: "));
        CHECK(contains(r.err, "is not inside --artifact-dir"));
    }
    repo.write("site.yaml", std::string(tenant_doc) + artifact_doc("fw", allowed.string()));
    repo.commit();
    auto refused = fleet({"apply", "--git", repo.url()});
    CHECK(refused.exit_code == 2);
    CHECK(contains(refused.err, "--artifact-dir"));
    auto r = fleet({"apply", "--git", repo.url(), "--artifact-dir", builds});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(fleet.artifact("site", util::sha256_hex("local build")) == "local build");
}

TEST_CASE("store, WAL, artifacts, git cache and config are owner-only under umask 022", "[artifact][hostile][modes][cli][sqlite]")
{
    Umask mask(022);
    test::TempDir home;
    auto state = home.path() / "state" / "fleet" / "state.db";
    std::map<std::string, std::string> env = {{"HOME", home.path().string()},
                                              {"XDG_CONFIG_HOME", (home.path() / "config").string()}};
    auto fleetadm = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"--state", state.string()});
        auto r = test::run_process(FLEETADM_BIN, args, "", env);
        INFO(r.err);
        CHECK(r.exit_code == 0);
        return r;
    };
    fleetadm({"init"});
    Repo repo;
    repo.write("site.yaml", std::string(tenant_doc) + artifact_doc("fw", "fw.bin") +
                                artifact_doc("fw2", "fw2.bin"));
    repo.write("fw.bin", "firmware");
    repo.write("fw2.bin", "firmware two");
    repo.commit();
    fleetadm({"apply", "--git", repo.url()});
    fleetadm({"config", "set-context", "prod", "--state", state.string()});
    // A saved plan names the fleet's devices, hosts and credential files: owner-only too.
    auto plan_file = home.path() / "plan.json";
    auto planned = test::run_process(FLEETADM_BIN, {"--state", state.string(), "plan", "--git", repo.url(), "--out",
                                                    plan_file.string()},
                                     "", env);
    INFO(planned.err);
    CHECK(planned.exit_code == 0);  // no changes: the plan is saved all the same

    auto dir = state.parent_path();
    for (const auto& folder : {dir.parent_path(), dir, dir / "artifacts", dir / "artifacts" / "site", dir / "git-cache",
                               home.path() / "config" / "fleetadm"}) {
        INFO(folder);
        REQUIRE(fs::is_directory(folder));
        CHECK(mode_of(folder) == 0700);
    }
    std::vector<fs::path> files = {state, plan_file, home.path() / "config" / "fleetadm" / "config.yaml",
                                   dir / "artifacts" / "site" / util::sha256_hex("firmware"),
                                   dir / "artifacts" / "site" / util::sha256_hex("firmware two")};
    for (const char* suffix : {"-wal", "-shm"})
        if (fs::exists(state.string() + suffix)) files.emplace_back(state.string() + suffix);
    for (const auto& file : files) {
        INFO(file);
        REQUIRE(fs::is_regular_file(file));
        CHECK(mode_of(file) == 0600);
    }

    // A store made before (0644) is tightened when it is opened.
    fs::permissions(state, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                               fs::perms::others_read);
    fleetadm({"get", "tenants"});
    CHECK(mode_of(state) == 0600);
}

// The area is the local store's (on PostgreSQL the copies are rows of the apply's transaction).
TEST_CASE("an apply that fails after copying an artifact removes the copy", "[artifact][hostile][cli][sqlite]")
{
    test::Fleet fleet;
    REQUIRE(fleet({"init"}).exit_code == 0);
    fleet.dir().write("a.bin", "first artifact");
    fleet.dir().write("b.bin", "second artifact");
    // The second copy cannot be renamed into place: a folder holds its name.
    auto area = fleet.state_dir() / "artifacts" / "site";
    fs::create_directories(area / util::sha256_hex("second artifact"));
    auto before = fleet.store_digest();
    auto file = fleet.dir().write("site.yaml", std::string(tenant_doc) + artifact_doc("a", "a.bin") +
                                                   artifact_doc("b", "b.bin"));
    auto r = fleet({"apply", "-f", file.string()});
    INFO(r.err);
    CHECK(r.exit_code == 6);
    CHECK(contains(r.err, "nothing was written"));
    CHECK(fleet.store_digest() == before);
    CHECK_FALSE(fs::exists(area / util::sha256_hex("first artifact")));
    // Nothing else was left behind either (no temporary files).
    std::size_t entries = 0;
    for (auto it = fs::directory_iterator(area); it != fs::directory_iterator(); ++it) ++entries;
    CHECK(entries == 1);
}
