// Edges of -f input (SPEC §4): a folder is read for the files directly in it, -R adds subfolders; a run
// that reads no document is a usage error, never an empty apply or an empty prune; --tenant must agree
// with every document's tenant.
#include <catch2/catch.hpp>

#include "tests/support/process.hpp"

using fleet::test::Fleet;

namespace {

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

std::string tenant(const std::string& name)
{
    return "apiVersion: fleetadm/v1\nkind: Tenant\nmetadata:\n  name: " + name + "\nspec:\n  deviceLimit: 10\n";
}

std::string credential(const std::string& name, const std::string& owner)
{
    return "apiVersion: fleetadm/v1\nkind: Credential\nmetadata:\n  name: " + name + "\n  tenant: " + owner +
           "\nspec:\n  type: ssh-agent\n";
}

void init(const Fleet& fleet)
{
    auto r = fleet({"init"});
    REQUIRE(r.exit_code == 0);
}

} // namespace

TEST_CASE("apply -f DIR reads the files directly in DIR: -R also its subfolders", "[cli][input]")
{
    Fleet fleet;
    init(fleet);
    fleet.dir().write("src/acme.yaml", tenant("acme"));
    fleet.dir().write("src/more/globex.yaml", tenant("globex"));
    auto dir = (fleet.dir().path() / "src").string();

    auto flat = fleet({"apply", "-f", dir});
    INFO(flat.err);
    REQUIRE(flat.exit_code == 0);
    CHECK(flat.out == "tenant/acme created\n1 created, 0 configured, 0 pruned, 0 unchanged\n");
    auto deep = fleet({"apply", "-f", dir, "-R"});
    INFO(deep.err);
    REQUIRE(deep.exit_code == 0);
    CHECK(contains(deep.out, "tenant/globex created"));
}

TEST_CASE("a run that reads no document exits 2 and never prunes", "[cli][input]")
{
    Fleet fleet;
    init(fleet);
    fleet.dir().write("src/tenants/acme.yaml", tenant("acme"));
    fleet.dir().write("src/tenants/globex.yaml", tenant("globex"));
    auto dir = (fleet.dir().path() / "src").string();
    REQUIRE(fleet({"apply", "-f", dir, "-R"}).exit_code == 0);
    auto before = fleet.store_digest();

    // src holds only a folder: without -R nothing is read. This used to report success, and with
    // --prune planned to delete everything the folder had applied.
    for (std::vector<std::string> command :
         {std::vector<std::string>{"validate"}, {"diff"}, {"plan"}, {"apply", "--dry-run", "--prune"},
          {"apply", "--prune", "--confirm-prune"}, {"apply"}}) {
        command.insert(command.end(), {"-f", dir});
        INFO(command.front());
        auto r = fleet(command);
        INFO(r.out << r.err);
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, dir + ": no resource document read: a folder given with -f is read for the .yaml, "
                                    ".yml, .json, .csv and .jsonl files directly in it; -R also reads its subfolders"));
        CHECK_FALSE(contains(r.out, "pruned"));
    }
    CHECK(fleet.store_digest() == before);

    auto empty = fleet.dir().write("empty.yaml", "# nothing here yet\n---\n");
    auto r = fleet({"apply", "--prune", "-f", empty.string()});
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, empty.string() + ": no resource document read"));
    auto csv = fleet.dir().write("devices.csv", "name,tenant,deviceType\n");
    auto enroll = fleet({"device", "enroll", "-f", csv.string()});
    CHECK(enroll.exit_code == 2);
    CHECK(contains(enroll.err, "no resource document read"));
    CHECK(fleet.store_digest() == before);
}

TEST_CASE("apply --tenant with a document naming another tenant exits 2 naming the document's line", "[cli][input]")
{
    Fleet fleet;
    init(fleet);
    REQUIRE(fleet({"apply", "-f", fleet.dir().write("t.yaml", tenant("acme") + "---\n" + tenant("globex")).string()})
                .exit_code == 0);
    auto before = fleet.store_digest();

    auto file = fleet.dir().write("c.yaml", credential("ok-ssh", "acme") + "---\n" + credential("other-ssh", "globex"));
    for (const char* command : {"validate", "plan", "apply"}) {
        auto r = fleet({"--tenant", "acme", command, "-f", file.string()});
        INFO(command << ": " << r.err);
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, file.string() + ":13:3: metadata.tenant: tenant \"globex\" is not the tenant given "
                                              "with --tenant (acme); drop one of them"));
    }
    auto csv = fleet.dir().write("d.csv", "name,tenant,deviceType\nd1,acme,rpi4\nd2,globex,rpi4\n");
    auto r = fleet({"--tenant", "acme", "device", "enroll", "-f", csv.string()});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, csv.string() + ":3: metadata.tenant: tenant \"globex\" is not the tenant given with --tenant"));
    CHECK(fleet.store_digest() == before);

    // Without --tenant, and with --tenant naming the documents' own tenant, the same kind of file applies.
    auto mine = fleet.dir().write("mine.yaml", credential("ok-ssh", "acme"));
    auto ok = fleet({"--tenant", "acme", "apply", "-f", mine.string()});
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
    CHECK(fleet({"apply", "-f", file.string()}).exit_code == 0);
}
