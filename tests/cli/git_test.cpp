// Git sources: apply, diff and plan with --git against real repositories made here with the git
// CLI and reached over file://, ssh:// (a real sshd) and https:// (git-http-backend behind TLS).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "core/util/sha256.hpp"
#include "tests/support/background.hpp"
#include "tests/support/pki.hpp"
#include "tests/support/process.hpp"

using fleet::test::Fleet;
using fleet::test::RunResult;
using fleet::test::TempDir;
using nlohmann::json;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

std::string tenant(const std::string& name, int limit = 10)
{
    return "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata:\n  name: " + name +
           "\nspec:\n  deviceLimit: " + std::to_string(limit) + "\n";
}

/// A git repository in a temporary directory, driven by the git CLI with its own HOME.
class Repo {
public:
    Repo()
    {
        git({"init", "-q", "-b", "main", work().string()});
        git({"-C", work().string(), "config", "user.name", "Fleet Test"});
        git({"-C", work().string(), "config", "user.email", "test@fleet.invalid"});
    }

    std::filesystem::path work() const { return m_dir.path() / "repo"; }
    std::string url() const { return "file://" + work().string(); }

    /// Writes a file in the working tree.
    void write(const std::string& path, const std::string& content) const { m_dir.write("repo/" + path, content); }
    /// Removes a file from the working tree.
    void remove(const std::string& path) const { std::filesystem::remove(work() / path); }
    /// Commits everything and returns the new commit id.
    std::string commit(const std::string& message) const
    {
        git({"-C", work().string(), "add", "-A"});
        git({"-C", work().string(), "commit", "-q", "-m", message});
        return head();
    }
    std::string head() const
    {
        auto r = git({"-C", work().string(), "rev-parse", "HEAD"});
        return r.out.substr(0, 40);
    }
    RunResult git(const std::vector<std::string>& args) const
    {
        auto r = fleet::test::run_process("/usr/bin/git", args, "",
                                          {{"HOME", m_dir.path().string()}, {"GIT_CONFIG_NOSYSTEM", "1"}});
        INFO("git " << args.front() << ": " << r.err);
        REQUIRE(r.exit_code == 0);
        return r;
    }

private:
    TempDir m_dir;
};

/// Runs fleetadm against fleet's store with cwd as the working directory.
RunResult run_in(const Fleet& fleet, const std::filesystem::path& cwd, std::vector<std::string> args)
{
    std::vector<std::string> sh{"-c", "cd \"$0\" && exec \"$@\"", cwd.string(), FLEETADM_BIN, "--state",
                                fleet.location()};
    sh.insert(sh.end(), args.begin(), args.end());
    return fleet::test::run_process("/bin/sh", sh, "", {{"HOME", fleet.dir().path().string()}});
}

json get_json(const Fleet& fleet, const std::string& kind, const std::string& name)
{
    auto r = fleet({"get", kind, name, "-o", "json"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out);
}

std::string annotation(const json& object, const std::string& key)
{
    return object["metadata"]["annotations"].value(key, "");
}

/// A digest of everything the caller sees, to show that a failed command wrote nothing.
std::string visible_state(const Fleet& fleet)
{
    std::string all;
    for (const char* kind : {"tenants", "devices", "groups", "credentials"}) all += fleet({"get", kind, "-A", "-o", "json"}).out;
    return fleet::util::sha256_hex(all);
}

void init(const Fleet& fleet) { REQUIRE(fleet({"init"}).exit_code == 0); }

/// A free TCP port on the loopback interface.
int free_port()
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/// A real OpenSSH server on the loopback interface that lets the test's user in with one key;
/// git runs git-upload-pack through it as for any ssh:// remote.
class Sshd {
public:
    Sshd(const TempDir& dir, const std::string& client_public_key) : m_port(free_port())
    {
        auto host_key = (dir.path() / "ssh_host_ed25519_key").string();
        auto r = fleet::test::run_process("/usr/bin/ssh-keygen", {"-q", "-t", "ed25519", "-N", "", "-f", host_key});
        REQUIRE(r.exit_code == 0);
        m_host_key = fleet::test::read_file(host_key + ".pub");
        dir.write("authorized_keys", client_public_key);
        auto config = dir.write("sshd_config", "Port " + std::to_string(m_port) +
                                                   "\nListenAddress 127.0.0.1\nHostKey " + host_key +
                                                   "\nAuthorizedKeysFile " + (dir.path() / "authorized_keys").string() +
                                                   "\nPidFile none\nStrictModes no\nUsePAM no\n"
                                                   "PasswordAuthentication no\nKbdInteractiveAuthentication no\n");
        std::filesystem::create_directories("/run/sshd");  // privilege separation; made by the service otherwise
        int pipe_fds[2];
        REQUIRE(pipe(pipe_fds) == 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
        posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
        std::string program = "/usr/sbin/sshd";
        std::vector<std::string> args{program, "-D", "-e", "-f", config.string()};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        REQUIRE(posix_spawn(&m_pid, program.c_str(), &actions, nullptr, argv.data(), environ) == 0);
        posix_spawn_file_actions_destroy(&actions);
        close(pipe_fds[1]);
        m_log = pipe_fds[0];
        // Wait for the event that it listens, not for a time.
        std::string log;
        while (log.find("Server listening") == std::string::npos) {
            pollfd p{m_log, POLLIN, 0};
            REQUIRE(poll(&p, 1, 10000) == 1);
            char buffer[512];
            auto n = read(m_log, buffer, sizeof buffer);
            INFO(log);
            REQUIRE(n > 0);
            log.append(buffer, static_cast<std::size_t>(n));
        }
    }
    ~Sshd()
    {
        kill(m_pid, SIGTERM);
        waitpid(m_pid, nullptr, 0);
        close(m_log);
    }
    Sshd(const Sshd&) = delete;
    Sshd& operator=(const Sshd&) = delete;

    int port() const { return m_port; }
    /// The host key's "type base64" for a known_hosts line.
    std::string host_key() const { return m_host_key.substr(0, m_host_key.rfind(' ')); }

private:
    int m_port;
    pid_t m_pid = -1;
    int m_log = -1;
    std::string m_host_key;
};

} // namespace

TEST_CASE("apply --git records the commit: diff names the new one: apply records it", "[cli][git]")
{
    Repo repo;
    repo.write("fleet/tenants.yaml", tenant("acme") + "---\n" + tenant("acme-dev"));
    repo.write("fleet/nested/devices.csv", "name,tenant,deviceType\nd-1,acme,rpi4\nd-2,acme,rpi4\n");
    repo.write("fleet/.hidden/ignored.yaml", tenant("never"));
    repo.write("README.md", "not a resource\n");
    auto first = repo.commit("first");

    Fleet fleet;
    init(fleet);
    TempDir cwd;  // the caller's working directory: nothing may appear in it
    auto applied = run_in(fleet, cwd.path(), {"apply", "--git", repo.url(), "--ref", "main", "--path", "fleet"});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);
    CHECK(contains(applied.out, "git:" + repo.url() + "#fleet at " + first + " (first apply from this source)"));
    CHECK(contains(applied.out, "4 created, 0 configured, 0 pruned, 0 unchanged"));
    CHECK(fleet({"get", "tenant", "never"}).exit_code == 4);

    auto acme = get_json(fleet, "tenant", "acme");
    CHECK(annotation(acme, "fleetadm.io/source") == "git:" + repo.url() + "#fleet");
    CHECK(annotation(acme, "fleetadm.io/git-url") == repo.url());
    CHECK(annotation(acme, "fleetadm.io/git-path") == "fleet");
    CHECK(annotation(acme, "fleetadm.io/git-commit") == first);
    CHECK(annotation(acme, "fleetadm.io/source-file") ==
          "git:" + repo.url() + "@" + first.substr(0, 12) + ":fleet/tenants.yaml:1");
    CHECK(annotation(get_json(fleet, "device", "d-2"), "fleetadm.io/git-commit") == first);

    // `get -o yaml` applies back unchanged: the fleetadm.io/ annotations are ignored on input.
    auto yaml = fleet({"get", "tenant", "acme", "-o", "yaml"});
    auto back = fleet.dir().write("acme.yaml", yaml.out);
    CHECK(fleet({"diff", "-f", back.string()}).exit_code == 0);

    repo.write("fleet/tenants.yaml", tenant("acme", 25) + "---\n" + tenant("acme-dev"));
    auto second = repo.commit("raise acme's limit");

    auto diff = run_in(fleet, cwd.path(), {"diff", "--git", repo.url(), "--ref", "main", "--path", "fleet"});
    INFO(diff.err);
    CHECK(diff.exit_code == 1);
    CHECK(contains(diff.out, "at " + second + " (last applied: " + first + ")"));
    CHECK(contains(diff.out, "~ tenant/acme (configure)"));
    CHECK(contains(diff.out, "spec.deviceLimit: 10 → 25"));
    CHECK_FALSE(contains(diff.out, "acme-dev"));

    auto plan = run_in(fleet, cwd.path(), {"plan", "--git", repo.url(), "--path", "fleet", "-o", "json"});
    CHECK(plan.exit_code == 1);
    CHECK(json::parse(plan.out)["commit"] == second);

    auto again = run_in(fleet, cwd.path(), {"apply", "--git", repo.url(), "--ref", "main", "--path", "fleet"});
    INFO(again.err);
    REQUIRE(again.exit_code == 0);
    CHECK(contains(again.out, "tenant/acme configured"));
    CHECK(contains(again.out, "0 created, 1 configured, 0 pruned, 3 unchanged"));
    CHECK(annotation(get_json(fleet, "tenant", "acme"), "fleetadm.io/git-commit") == second);
    // Unchanged objects are not rewritten (nor audited): they keep the commit that last changed them,
    // and the source records the commit it was synced to.
    CHECK(annotation(get_json(fleet, "tenant", "acme-dev"), "fleetadm.io/git-commit") == first);
    auto describe = fleet({"describe", "tenant", "acme-dev"});
    CHECK(contains(describe.out, "Git Commit:     " + first + " (last changed this object)"));
    CHECK(contains(describe.out, "Source Synced:  " + second));
    auto audit = fleet({"audit", "-A", "-o", "json"});
    CHECK_FALSE(contains(audit.out, "\"configured\",\n    \"object\": \"tenant/acme-dev\""));

    auto clean = run_in(fleet, cwd.path(), {"diff", "--git", repo.url(), "--ref", "main", "--path", "fleet"});
    CHECK(clean.exit_code == 0);
    CHECK(contains(clean.out, second + " (already applied)"));

    CHECK(std::filesystem::is_empty(cwd.path()));
    CHECK(std::filesystem::is_directory(fleet.state_dir() / "git-cache"));
}

TEST_CASE("apply --git --ref takes a branch, a lightweight or annotated tag, and a full or short commit id", "[cli][git]")
{
    Repo repo;
    repo.write("t.yaml", tenant("acme", 1));
    auto first = repo.commit("first");
    repo.git({"-C", repo.work().string(), "tag", "v1"});
    repo.git({"-C", repo.work().string(), "tag", "-a", "release-1", "-m", "release 1"});
    repo.write("t.yaml", tenant("acme", 2));
    auto second = repo.commit("second");

    Fleet fleet;
    init(fleet);
    auto limit_at = [&](const std::string& ref) {
        auto r = fleet({"apply", "--git", repo.url(), "--ref", ref});
        INFO(ref << ": " << r.err);
        REQUIRE(r.exit_code == 0);
        auto acme = get_json(fleet, "tenant", "acme");
        return std::make_pair(acme["spec"]["deviceLimit"].get<int>(), annotation(acme, "fleetadm.io/git-commit"));
    };
    CHECK(limit_at("v1") == std::make_pair(1, first));
    CHECK(limit_at("main") == std::make_pair(2, second));
    CHECK(limit_at("release-1") == std::make_pair(1, first));
    CHECK(limit_at(second) == std::make_pair(2, second));
    CHECK(limit_at(first.substr(0, 8)) == std::make_pair(1, first));
    CHECK(limit_at("refs/heads/main") == std::make_pair(2, second));
    // The default is the remote's HEAD; the whole repository when no --path is given.
    auto head = fleet({"diff", "--git", repo.url()});
    CHECK(head.exit_code == 0);
    CHECK(contains(head.out, "#. at " + second));
}

TEST_CASE("apply --git --prune deletes only that source's objects no longer in the tree", "[cli][git]")
{
    Repo repo;
    for (const char* name : {"a", "b", "c", "d"}) repo.write(std::string("fleet/") + name + ".yaml", tenant(name));
    repo.write("other/o.yaml", tenant("o"));
    repo.commit("four tenants and another path");

    Fleet fleet;
    init(fleet);
    auto local = fleet.dir().write("local.yaml", tenant("f"));
    REQUIRE(fleet({"apply", "-f", local.string()}).exit_code == 0);
    REQUIRE(fleet({"apply", "--git", repo.url(), "--path", "fleet"}).exit_code == 0);
    REQUIRE(fleet({"apply", "--git", repo.url(), "--path", "other"}).exit_code == 0);

    repo.remove("fleet/d.yaml");
    auto removed = repo.commit("drop d");
    auto pruned = fleet({"apply", "--git", repo.url(), "--path", "fleet", "--prune"});
    INFO(pruned.err);
    REQUIRE(pruned.exit_code == 0);
    CHECK(contains(pruned.out, "tenant/d pruned"));
    CHECK(contains(pruned.out, "0 created, 0 configured, 1 pruned, 3 unchanged"));
    auto names = fleet({"get", "tenants", "-o", "name"});
    CHECK(names.out == "tenant/a\ntenant/b\ntenant/c\ntenant/f\ntenant/o\ntenant/provider\n");
    CHECK(contains(fleet({"describe", "tenant", "a"}).out, "Source Synced:  " + removed));

    // More than 25% of the source needs --confirm-prune; the store stays as it was.
    repo.remove("fleet/b.yaml");
    repo.remove("fleet/c.yaml");
    repo.commit("drop b and c");
    auto before = visible_state(fleet);
    auto refused = fleet({"apply", "--git", repo.url(), "--path", "fleet", "--prune"});
    CHECK(refused.exit_code == 5);
    CHECK(contains(refused.err, "--confirm-prune"));
    CHECK(visible_state(fleet) == before);
}

TEST_CASE("an unknown ref, a missing path or a bad URL exits with the documented code and writes nothing",
          "[cli][git]")
{
    Repo repo;
    repo.write("fleet/t.yaml", tenant("acme"));
    auto commit = repo.commit("first");
    Fleet fleet;
    init(fleet);
    REQUIRE(fleet({"apply", "--git", repo.url(), "--path", "fleet"}).exit_code == 0);
    repo.write("fleet/t.yaml", tenant("acme", 99));
    repo.commit("second");
    auto digest = fleet.store_digest();
    auto state = visible_state(fleet);

    struct Case {
        std::vector<std::string> args;
        int exit_code;
        std::string message;
    };
    std::vector<Case> cases = {
        {{"--git", repo.url(), "--ref", "no-such-branch"}, 2,
         "ref \"no-such-branch\" not found in " + repo.url() + ": no branch, tag or commit of that name"},
        {{"--git", repo.url(), "--ref", "deadbeef"}, 2, "ref \"deadbeef\" not found"},
        {{"--git", repo.url(), "--path", "nowhere"}, 2,
         "path \"nowhere\" does not exist in " + repo.url() + " at " + repo.head().substr(0, 12)},
        {{"--git", repo.url(), "--path", "../escape"}, 2, "may not contain \"..\""},
        {{"--git", "not a url"}, 2, "invalid git URL"},
        {{"--git", "ftp://example.com/repo.git"}, 2, "invalid git URL \"ftp://example.com/repo.git\""},
        {{"--git", "http://example.com/repo.git"}, 2, "plain http:// is not supported"},
        {{"--git", "https://user:secret@example.com/repo.git"}, 2, "do not put a password in the URL"},
        {{"--git", "file://" + (fleet.dir().path() / "missing").string()}, 6, "cannot fetch file://"},
        {{"--git", repo.url(), "-f", "x.yaml"}, 2, "--filename excludes --git"},
        {{"--ref", "main"}, 2, "--ref requires --git"},
    };
    for (const auto& c : cases) {
        for (const char* command : {"apply", "diff", "plan"}) {
            std::vector<std::string> args{command};
            args.insert(args.end(), c.args.begin(), c.args.end());
            auto r = fleet(args);
            INFO(command << " " << c.args.back() << ": " << r.err);
            CHECK(r.exit_code == c.exit_code);
            CHECK(contains(r.err, c.message));
            CHECK_FALSE(contains(r.err, "secret"));
        }
    }
    CHECK(fleet.store_digest() == digest);
    CHECK(visible_state(fleet) == state);
    CHECK(annotation(get_json(fleet, "tenant", "acme"), "fleetadm.io/git-commit") == commit);
}

TEST_CASE("problems in files from git name the file at its commit, line, column and field", "[cli][git]")
{
    Repo repo;
    repo.write("fleet/bad.yaml", "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata:\n  name: acme\nspec:\n"
                                 "  deviceLimit: lots\n");
    repo.write("fleet/cred.yaml", "apiVersion: fleetadm/v1\nkind: Credential\nmetadata: {name: k, tenant: acme}\n"
                                  "spec:\n  type: ssh-key\n  privateKeyFile: keys/id\n");
    auto commit = repo.commit("broken");
    Fleet fleet;
    init(fleet);
    auto digest = fleet.store_digest();
    auto r = fleet({"apply", "--git", repo.url(), "--path", "fleet"});
    CHECK(r.exit_code == 2);
    std::string name = "git:" + repo.url() + "@" + commit.substr(0, 12);
    CHECK(contains(r.err, name + ":fleet/bad.yaml:6:3: spec.deviceLimit: expected integer"));
    CHECK(contains(r.err, name + ":fleet/cred.yaml:6:3: spec.privateKeyFile: relative path \"keys/id\" cannot be "
                                 "resolved"));
    CHECK(fleet.store_digest() == digest);
}

TEST_CASE("concurrent runs share the git cache safely", "[cli][git]")
{
    Repo repo;
    repo.write("t.yaml", tenant("acme"));
    auto commit = repo.commit("first");
    Fleet fleet;
    init(fleet);
    std::vector<std::future<RunResult>> runs;
    for (int i = 0; i < 4; ++i)
        runs.push_back(std::async(std::launch::async, [&] { return fleet({"diff", "--git", repo.url()}); }));
    for (auto& run : runs) {
        auto r = run.get();
        INFO(r.err);
        CHECK(r.exit_code == 1);
        CHECK(contains(r.out, "at " + commit));
        CHECK(contains(r.out, "+ tenant/acme (create)"));
    }
}

TEST_CASE("ssh:// remotes authenticate with the user's key and check the host key against known_hosts",
          "[cli][git][ssh]")
{
    Repo repo;
    repo.write("fleet/t.yaml", tenant("acme"));
    auto commit = repo.commit("first");
    Fleet fleet;
    init(fleet);
    auto ssh_dir = fleet.dir().path() / ".ssh";  // the HOME fleetadm runs with
    std::filesystem::create_directories(ssh_dir);
    auto r = fleet::test::run_process("/usr/bin/ssh-keygen",
                                      {"-q", "-t", "ed25519", "-N", "", "-f", (ssh_dir / "id_ed25519").string()});
    REQUIRE(r.exit_code == 0);
    TempDir server_dir;
    Sshd sshd(server_dir, fleet::test::read_file(ssh_dir / "id_ed25519.pub"));
    const passwd* pw = getpwuid(geteuid());
    REQUIRE(pw);
    std::string url = "ssh://" + std::string(pw->pw_name) + "@127.0.0.1:" + std::to_string(sshd.port()) +
                      repo.work().string();
    auto known = "[127.0.0.1]:" + std::to_string(sshd.port()) + " ";
    auto digest = fleet.store_digest();

    auto unknown = fleet({"apply", "--git", url});
    CHECK(unknown.exit_code == 6);
    CHECK(contains(unknown.err, "the host key of 127.0.0.1 is not in ~/.ssh/known_hosts"));

    fleet.dir().write(".ssh/known_hosts", known + fleet::test::read_file(ssh_dir / "id_ed25519.pub"));
    auto changed = fleet({"apply", "--git", url});
    CHECK(changed.exit_code == 6);
    CHECK(contains(changed.err, "does not match the one in known_hosts"));
    CHECK(fleet.store_digest() == digest);

    fleet.dir().write(".ssh/known_hosts", known + sshd.host_key() + "\n");
    auto applied = fleet({"apply", "--git", url, "--ref", "main", "--path", "fleet"});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);
    CHECK(contains(applied.out, "tenant/acme created"));
    CHECK(annotation(get_json(fleet, "tenant", "acme"), "fleetadm.io/git-commit") == commit);
}

TEST_CASE("https:// remotes verify the server certificate: GIT_SSL_CAINFO names a private CA", "[cli][git]")
{
    Repo repo;
    repo.write("fleet/t.yaml", tenant("acme"));
    auto commit = repo.commit("first");
    // A CA of the test's own and a server certificate for 127.0.0.1 signed by it.
    fleet::test::Pki pki;
    pki.make_ca("ca");
    pki.make_cert("server", "ca", "127.0.0.1", "subjectAltName=DNS:127.0.0.1,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    // git's own git-http-backend behind a TLS server.
    fleet::test::BackgroundProcess server("python3", {FLEETADM_SOURCE_DIR "/tests/support/git_https.py", "--root",
                                                      repo.work().parent_path().string(), "--cert",
                                                      pki.path("server.crt"), "--key", pki.path("server.key")});
    std::string url = "https://127.0.0.1:" + server.wait_for_line("PORT ").substr(5) + "/repo";
    Fleet fleet;
    init(fleet);
    auto apply_with_ca = [&](const std::string& ca) {
        return fleet::test::run_process(FLEETADM_BIN,
                                        {"--state", fleet.location(), "apply", "--git", url, "--path", "fleet"},
                                        "", {{"HOME", fleet.dir().path().string()}, {"GIT_SSL_CAINFO", ca}});
    };
    auto digest = fleet.store_digest();

    // The system's CAs do not know the server: refused, nothing written.
    auto untrusted = fleet({"apply", "--git", url, "--path", "fleet"});
    INFO(untrusted.err);
    CHECK(untrusted.exit_code == 6);
    CHECK(contains(untrusted.err, "cannot fetch " + url));
    CHECK(fleet.store_digest() == digest);

    auto missing = apply_with_ca(pki.path("nothing.crt"));
    CHECK(missing.exit_code == 2);
    CHECK(contains(missing.err, "GIT_SSL_CAINFO=" + pki.path("nothing.crt") + ": no such file"));
    CHECK(fleet.store_digest() == digest);

    auto applied = apply_with_ca(pki.path("ca.crt"));
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);
    CHECK(contains(applied.out, "tenant/acme created"));
    auto acme = get_json(fleet, "tenant", "acme");
    CHECK(annotation(acme, "fleetadm.io/git-commit") == commit);
    CHECK(annotation(acme, "fleetadm.io/git-url") == url);
}

TEST_CASE("recording a source's commit needs the roles to manage its objects", "[cli][git]")
{
    Repo repo;
    std::string acme = tenant("acme") + "  members:\n    - {user: alice, role: admin}\n    - {user: bob, role: viewer}\n";
    repo.write("acme/tenant.yaml", acme);
    repo.commit("acme");
    Fleet fleet;
    init(fleet);
    REQUIRE(fleet({"apply", "--git", repo.url(), "--path", "acme"}).exit_code == 0);

    // alice administers acme but may not change it (that needs admin on its parent); her repository
    // keeps acme unchanged and adds a device, and the commit is recorded.
    repo.write("acme/devices.csv", "name,tenant,deviceType\nd-1,acme,rpi4\n");
    auto second = repo.commit("a device");
    auto alice = fleet({"--as", "alice", "apply", "--git", repo.url(), "--path", "acme"});
    INFO(alice.err);
    REQUIRE(alice.exit_code == 0);
    CHECK(contains(alice.out, "1 created, 0 configured, 0 pruned, 1 unchanged"));
    CHECK(contains(fleet({"describe", "tenant", "acme"}).out, "Source Synced:  " + second));

    // bob only views: a commit that changes no object is not recorded for him.
    repo.write("acme/NOTES.md", "no resources here\n");
    repo.commit("notes");
    auto digest = fleet.store_digest();
    auto bob = fleet({"--as", "bob", "apply", "--git", repo.url(), "--path", "acme"});
    CHECK(bob.exit_code == 3);
    CHECK(contains(bob.err, "permission denied"));
    CHECK(fleet.store_digest() == digest);
    CHECK(fleet({"--as", "bob", "diff", "--git", repo.url(), "--path", "acme"}).exit_code == 0);
}
