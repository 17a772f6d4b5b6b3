// The prose of the man pages, by command path. Keep a command's entry next to its neighbours in
// the order of --help; a test fails when an entry names a command or option that does not exist.
#include "cmd/help_text.hpp"

#include <fmt/format.h>

namespace fleet::cli::help {

const std::vector<Prose>& prose()
{
    static const std::vector<Prose> table = {
        {.path = "",
         .description =
             "`fleetadm` keeps one local state store of tenants: a provider tenant at the root and isolated child "
             "tenants (customers, business units, environments) below it, nested up to 8 levels, each with a device "
             "limit, members and settings. Tenants, devices, device groups, credentials, artifacts and rollouts are "
             "declared in YAML files kept in git; `fleetadm apply` makes the store match them in one transaction, after `fleetadm diff` or "
             "`fleetadm plan` has shown what would change.\n\n"
             "Each command has its own page, named after it: fleetadm-apply(1), fleetadm-device(1) and so on. "
             "The global options below are accepted by every command, before or after its name.",
         .sections =
             {{"ACCESS",
               "The caller is the OS login name, or on a PostgreSQL store the database login; `fleetadm init` makes "
               "it an admin of the provider tenant. Roles come "
               "from a tenant's members and hold for its subtree: `viewer` reads, `operator` also writes devices, "
               "groups and credentials, `admin` also manages child tenants and their members. A tenant is changed by "
               "an admin of its parent, so no admin can raise their own tenant's limit.\n\n"
               "Objects of tenants where the caller holds no role behave as nonexistent (exit 4); a visible object "
               "without the needed role is permission denied (exit 3). `--as` is honoured for provider admins only."}},
         .exit_status =
             {{"0", "Success; for diff and plan: no changes."},
              {"1", "Completed with a non-clean outcome: diff or plan found changes, enrollment rejected records, "
                    "a rollout or exec ended with failed devices, audit verify found a break."},
              {"2", "Usage error or invalid input (flags, YAML, schema, CSV, references); nothing was written."},
              {"3", "Permission denied."},
              {"4", "Not found, also for objects the caller may not see."},
              {"5", "Conflict: device limit exceeded, name taken, lock held, stale plan, object in use, a rollout "
                    "paused by its failure threshold."},
              {"6", "Runtime failure: I/O, database or network at the command level."},
              {"130", "Interrupted."}},
         .environment = {{"FLEETADM_STATE", "The state store, unless `--state` is given or `--context` names a context with a store."},
                         {"FLEETADM_TENANT", "The default tenant, unless `--tenant` is given or `--context` names a context with a tenant."},
                         {"XDG_STATE_HOME", "The default store is *$XDG_STATE_HOME/fleetadm/state.db*."},
                         {"XDG_CONFIG_HOME", "Contexts are kept in *$XDG_CONFIG_HOME/fleetadm/config.yaml*."},
                         {"FLEETADM_GIT_USERNAME, FLEETADM_GIT_PASSWORD",
                          "Given to an https:// git remote that asks for credentials (the password: a token)."},
                         {"GIT_SSL_CAINFO", "A CA bundle to verify https:// git remotes with instead of the system's."},
                         {"NO_COLOR", "When set and not empty, output is never coloured."},
                         {"FLEETADM_HUGE_PAGES",
                          "0 keeps commands that handle many objects from re-executing themselves with glibc's "
                          "*glibc.malloc.hugetlb=1* tunable (transparent huge pages for the heap)."}},
         .files = {{"~/.local/state/fleetadm/state.db", "The default state store: an SQLite database in WAL mode."},
                   {"~/.config/fleetadm/config.yaml", "Named contexts (state, tenant, user) and the current one."},
                   {"~/.cache/fleetadm/artifacts/",
                    "This machine's copies of a PostgreSQL store's artifacts, named by SHA-256 and used only while "
                    "their bytes still hash to the name ($XDG_CACHE_HOME/fleetadm/artifacts/ when set)."}},
         .examples = {{"Create a store, preview the example tree and apply it:",
                       "fleetadm init\nfleetadm diff -f examples/ -R\nfleetadm apply -f examples/ -R"},
                      {"List gold tenants with more columns, and round-trip tenants through YAML:",
                       "fleetadm get tenants -l tier=gold -o wide\nfleetadm get tenants -o yaml | fleetadm apply -f -"},
                      {"Save a plan and apply exactly that plan (plan exits 1 when it found changes, 2 on bad input):",
                       "fleetadm plan -f examples/ -R --out plan.json || [ $? -eq 1 ] && fleetadm apply plan.json"},
                      {"Enroll devices, list some of one tenant, move one:",
                       "fleetadm device enroll -f devices.csv\nfleetadm get devices --tenant acme-prod -l building=a\n"
                       "fleetadm device move hvac-0003 --to acme-staging"},
                      {"Enable completion in the current bash:", "source <(fleetadm completion bash)"}}},
        {.path = "init",
         .description = "Create the state store and the provider tenant. The caller becomes the provider's admin. "
                        "Running it on an existing store is a conflict and changes nothing.",
         .examples = {{"A store in a given place, with its own provider name:",
                       "fleetadm --state /srv/fleet/state.db init --provider acme-iot"}}},
        {.path = "validate",
         .description = "Check resource files against the schemas and, when a store exists, their references "
                        "(parents, credentials, limits) against it. Writes nothing. Every problem of every file is "
                        "reported as *file*:*line*:*column*: *field*: *message*. Credential files missing on this "
                        "machine are warnings.",
         .exit_status = {{"2", "A file has at least one problem."}},
         .examples = {{"Check a tree of files:", "fleetadm validate -f examples/ -R"}}},
        {.path = "diff",
         .description = "Show the changes `apply` would make to the store, per object and field, without writing. "
                        "With `--prune`, also the objects of the same source that would be deleted.",
         .exit_status = {{"0", "No changes."}, {"1", "There are changes."}},
         .examples = {{"What applying a folder would change:", "fleetadm diff -f examples/ -R --prune"}}},
        {.path = "plan",
         .description = "Like `fleetadm diff`, with a summary line. `--out` saves the plan; `fleetadm apply` *FILE* "
                        "applies exactly that plan, and refuses it (exit 5) when the store changed since.",
         .exit_status = {{"0", "No changes."}, {"1", "There are changes."}},
         .examples = {{"Review, then apply what was reviewed:",
                       "fleetadm plan -f examples/ -R --out plan.json\nfleetadm apply plan.json"}}},
        {.path = "apply",
         .description =
             "Make the store match the files, all or nothing: every object is checked (schema, references, "
             "permissions, device limits) before one transaction writes them. Applying the same files again "
             "changes nothing and says so. One line is printed per changed object, then a summary.\n\n"
             "`--prune` deletes objects applied earlier from the same source (the set of `-f` paths) and no longer "
             "in it; pruning more than 25% of the source's objects needs `--confirm-prune`.\n\n"
             "With a saved plan *FILE* instead of `-f`, apply exactly that plan; it is refused (exit 5) when the "
             "store changed since the plan was made.",
         .exit_status = {{"5", "A device limit would be exceeded, the plan is stale, or a prune is too large."}},
         .examples = {{"Apply a folder and delete what was removed from it:",
                       "fleetadm apply -f examples/ -R --prune"},
                      {"Apply YAML from another command:", "fleetadm get tenants -o yaml | fleetadm apply -f -"}}},
        {.path = "get",
         .description =
             "List the objects of a kind, or show the named ones. Without `--tenant`, the objects of every tenant "
             "the caller can see. *KIND* is one of `tenant`(s), `device`(s) or `dev`, `devicegroup`(s) or `group`(s), "
             "`credential`(s) or `cred`, `artifact`(s), `rollout`(s). Objects may also be named *KIND*/*NAME*, as "
             "`-o name` prints them (all of one kind), here and in `describe` and `delete`.\n\n"
             "Selectors use kubectl's grammar: `k=v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, joined by "
             "commas. `--field-selector` takes `FIELD=VALUE`, `FIELD==VALUE` and `FIELD!=VALUE`, joined by commas, "
             "over the fields `-o json` shows: `metadata.name`, `metadata.tenant`, `metadata.labels.KEY`, any "
             "`spec` field of the kind's schema (`fleetadm explain`) and any `status` field; a field an object "
             "lacks reads as empty. `-o yaml` prints documents that `fleetadm apply` takes back unchanged.\n\n"
             "`-o jsonpath=TEMPLATE` and `-o custom-columns=HEADER:EXPR,...` follow kubectl's JSONPath: "
             "`{.items[*].metadata.name}`, `{range .items[*]}...{end}`, `[?(@.spec.deviceType==\"rpi4\")]`, "
             "`..field`, `[0:2]`, `{\"\\t\"}`; the template sees what `-o json` prints (a List, or the object "
             "itself when one name is given). They work wherever a command prints `-o json`. `--sort-by` orders by "
             "an expression's value (missing first, then numbers by value, then strings).",
         .examples = {{"Devices of one building, as JSON:",
                       "fleetadm get devices -l building=a -o json"},
                      {"Two tenants by name:", "fleetadm get tenants acme acme-prod"},
                      {"Raspberry Pi devices that were not reachable at their last check:",
                       "fleetadm get devices -A --field-selector spec.deviceType=rpi4,status.reachable=false"},
                      {"Name and SSH host of every device, sorted by host, no header:",
                       "fleetadm get devices -A --sort-by .spec.ssh.host --no-headers "
                       "-o custom-columns=NAME:.metadata.name,HOST:.spec.ssh.host"},
                      {"One line per device for a script:",
                       "fleetadm get devices -A -o jsonpath='{range .items[*]}{.metadata.tenant}/{.metadata.name}{\"\\n\"}{end}'"}}},
        {.path = "explain",
         .description = "Document a kind, or a field of it, from the JSON Schema fleetadm validates with: the "
                        "field's type, description, allowed values, pattern and bounds, and the fields below it. "
                        "Arrays and maps are stepped through (`explain rollout.spec.strategy.phases.percent`). "
                        "`--recursive` lists every field below with its type only.",
         .examples = {{"How a device is reached over SSH:", "fleetadm explain device.spec.ssh"},
                      {"Every field of a rollout:", "fleetadm explain rollout --recursive"}}},
        {.path = "describe",
         .description = "Show one object with its status, usage, members, maintenance windows, source and recent "
                        "events.",
         .examples = {{"A tenant with its usage and audit events:", "fleetadm describe tenant acme-prod"}}},
        {.path = "delete",
         .description = "Delete objects by kind and name, or with `-f` the objects those files define. A tenant is "
                        "deleted only when it has no children and owns nothing, or with `--cascade`. The provider "
                        "tenant is never deleted.",
         .examples = {{"Preview deleting a tenant with everything below it:",
                       "fleetadm delete tenant acme-staging --cascade --dry-run"}}},
        {.path = "tenant tree",
         .description = "Show the tenant hierarchy with device usage against limits; a tenant's usage counts its "
                        "descendants' devices."},
        {.path = "device enroll",
         .description =
             "Enroll devices in bulk from CSV (a header of field paths: `name`, `tenant`, `deviceType`, `labels` as "
             "`k=v;k=v`, `ssh.host`, `ssh.port`, `ssh.user`, `ssh.credential`, `ssh.jump` as "
             "`user@host:port[,user@host:port...]` (bastions, reached with the device's credential), `http.url`, "
             "`http.credential`, "
             "`http.profile`, `identity.serial`, `identity.mac`, `versionProbe`), JSONL (one Device per line) or "
             "YAML. Every record is checked first: by default one bad record enrolls nothing (exit 2); with "
             "`--skip-invalid` the valid records are enrolled and the rejected ones reported (exit 1). Enrolling the "
             "same file again changes nothing. An enrollment that would exceed the device limit of the tenant or of "
             "any ancestor is refused whole (exit 5).",
         .examples = {{"Enroll from a file, then the same from standard input:",
                       "fleetadm device enroll -f devices.csv\nfleetadm device enroll -f - --format csv < devices.csv"}}},
        {.path = "device move",
         .description = "Move devices to another tenant. The destination and its ancestors must have room, and the "
                        "credentials the devices use must exist there. A device applied from a source (a file, a "
                        "git path, an enrollment) is moved by changing its metadata.tenant there and applying; "
                        "`--detach` moves it here and takes it out of that source, whose next apply then cannot "
                        "create it again (exit 5 without it).",
         .examples = {{"Move one device:", "fleetadm device move hvac-0003 --to acme-staging --detach"}}},
        {.path = "device decommission", .description = "Remove devices and free their tenants' quota."},
        {.path = "device check",
         .description = "Reach devices and record what was found: over SSH, connect with the device's own tenant's "
                        "credential and run its `versionProbe` (its output is the reported version); a device with "
                        "only an HTTP endpoint gets a GET of its base URL, where any answer means reachable. "
                        "Reachability, last seen and the version are stored and shown by `get devices` and "
                        "`describe device`; one audit entry per tenant records the run. Ctrl-C cancels the devices "
                        "still being checked (their status is left as it was) and records the others; a second "
                        "Ctrl-C quits at once.",
         .exit_status = {{"1", "A device could not be reached or its probe failed."},
                         {"130", "Interrupted: some devices were cancelled."}},
         .examples = {{"Check one tenant's devices in building a:",
                       "fleetadm device check --tenant acme-prod -l building=a"}}},
        {.path = "exec",
         .description = "Run a command on the named or matching devices over SSH, in parallel, each with a "
                        "credential of its own tenant (through its `spec.ssh.jump` bastions, or ~/.ssh/config's "
                        "ProxyJump, where it has them); with `--copy` a local file is uploaded first (to a temporary "
                        "name, then renamed). With no NAME, `-l` or `--group` it runs only when given `--all`; "
                        "`--dry-run` lists the devices it would reach and connects to none. Host keys are checked against the credential's known_hosts file (strict unless "
                        "the credential says accept-new). Prints one row per device, or one JSON object per device "
                        "as it finishes with `-o json`. Needs the operator role on every matching device's tenant. "
                        "Ctrl-C cancels the devices still running (the connection is closed; queued ones never "
                        "start), then prints and audits every result; a second Ctrl-C quits at once.",
         .exit_status = {{"1", "The command failed, timed out or could not run on a device."},
                         {"130", "Interrupted: some devices were cancelled."}},
         .examples = {{"Ask every gateway for its uptime, 10 seconds at most each:",
                       "fleetadm exec -l role=gateway --timeout 10s -- uptime"},
                      {"Copy a script and run it on one group:",
                       "fleetadm exec --group canaries --copy fix.sh:/tmp/fix.sh -- sh /tmp/fix.sh"},
                      {"See which devices a fleet-wide command would reach, then run it on two of them:",
                       "fleetadm exec --all --dry-run && fleetadm exec hvac-0001 hvac-0002 -- uptime"}}},
        {.path = "rollout run",
         .description = "Run a rollout in the foreground, or resume it, until it completes, pauses or is "
                        "interrupted. The first run resolves and freezes the targets; devices of other types are "
                        "skipped as incompatible, devices at the artifact's version as up-to-date. Phases run in "
                        "order, at most maxParallel devices at once, new installs only inside a maintenance window; "
                        "every device step is committed, so a later run continues where a killed one stopped and "
                        "never installs a succeeded device again. It works alongside any runners on the same rollout: "
                        "each device is claimed in the store by one of them, and a dead one's devices are taken "
                        "over and re-verified. Progress: per-phase bars on a terminal, one line per event "
                        "when piped, NDJSON events with `-o json`.",
         .exit_status = {{"0", "Every targeted device succeeded, or the rollout paused as asked."},
                         {"1", "It ended with failed devices, or was aborted."},
                         {"5", "Paused by its failure threshold; `rollout retry` and `rollout run` go on."},
                         {"130", "Interrupted; in-flight steps stop and restart on the next run."}},
         .examples = {{"Run a rollout, and watch it from another shell:",
                       "fleetadm rollout run hvac-2.1.0 --tenant acme-prod\n"
                       "fleetadm rollout status hvac-2.1.0 --tenant acme-prod --watch"}}},
        {.path = "rollout start",
         .description = "Queue a rollout and return at once: its targets are frozen as `rollout run` freezes them, "
                        "and the runners (`fleetadm runner`, on any machine sharing the store) with operator on "
                        "its tenant share it, waiting for its notBefore and maintenance windows itself. `rollout "
                        "status` shows it queued until then.",
         .exit_status = {{"0", "Queued, or already queued or running (nothing changed)."},
                         {"5", "Started before, and now paused, aborted or completed."}},
         .examples = {{"Start tonight's rollout and go home:",
                       "fleetadm rollout start hvac-2.1.0 --tenant acme-prod"}}},
        {.path = "runner",
         .description = "Run as a service (`packaging/fleetadm-runner.service`): work on every running rollout the "
                        "caller may operate (queued by `rollout start`, resumed, or left by a runner that died), up "
                        "to `--max-rollouts` at once, each with its own store connection, together with any other "
                        "runners: each device is claimed in the store under a claim its heartbeat renews, so one "
                        "runner pushes to it; a dead runner's devices are taken over when their claims expire and "
                        "re-verified before any install; thresholds, soak and phase advance are decided once. The "
                        "`--max-parallel` slots are shared fairly between tenants, and a tenant's "
                        "updatePolicy.maxParallel caps it over all runners. A runner waits for notBefore and windows "
                        "itself. One log line per event, naming the runner, tenant, rollout and device (NDJSON with "
                        "`-o json`). SIGTERM or Ctrl-C ends the steps in flight on their devices, records them, hands "
                        "every claim back and exits 0, so that a restarted or another runner goes on at once.",
         .exit_status = {{"0", "Stopped by SIGTERM or Ctrl-C, or with `--once` nothing was left to run."},
                         {"6", "The store cannot be reached at the start."}},
         .examples = {{"Run rollouts unattended:", "fleetadm runner -o json"},
                      {"Drain what is queued, then exit (cron):", "fleetadm runner --once"}}},
        {.path = "rollout status",
         .description = "Show a rollout's state, per phase the devices succeeded, failed, in flight and pending, "
                        "and the devices that are not done (all of them with `-o wide`, with the runner working on each), "
                        "and each runner with its devices in flight."},
        {.path = "rollout pause",
         .description = "Pause a running rollout: its runners start no new device within a second; devices in "
                        "flight finish. `rollout resume` lets it go on."},
        {.path = "rollout resume",
         .description = "Mark a paused rollout as running again: a runner takes it, or `rollout run` continues "
                        "it."},
        {.path = "rollout abort",
         .description = "End a rollout for good: no new device starts; devices in flight finish."},
        {.path = "rollout retry",
         .description = "Queue a rollout's failed devices again (their attempts start over) and clear a pause "
                        "caused by the failure threshold; `rollout run` installs them."},
        {.path = "audit",
         .description = "List audit log entries: sequence, time, actor, tenant, action, object and summary of the "
                        "changed fields (never values); `-o json` and `-o csv` add the hashes. Every change is "
                        "recorded in its tenant's log in the same transaction as the change.",
         .examples = {{"What changed in the last two hours:", "fleetadm audit --since 2h"}}},
        {.path = "audit verify",
         .description = "Recompute each tenant's hash chain; name the first entry that was edited, removed or "
                        "reordered.",
         .exit_status = {{"1", "A log is broken, or no longer holds an entry of the checkpoint unchanged."}},
         .examples = {{"Prove that the log still holds what was checkpointed last week:",
                       "fleetadm audit verify -A --checkpoint audit-checkpoints/2026-11-24.json"}}},
        {.path = "audit checkpoint",
         .description = "Print each visible tenant's newest audit entry (tenant, sequence number, hash, time) as "
                        "JSON. Keep it where the store's owner cannot change it (a git repository, a ticket): the "
                        "hash chain catches an edited entry, but someone who controls the store can rewrite an "
                        "entry and every later one consistently; `audit verify --checkpoint` catches that too.",
         .examples = {{"Keep a checkpoint in git every night:",
                       "fleetadm audit checkpoint -A > audit-checkpoints/$(date +%F).json\n"
                       "git -C audit-checkpoints add . && git -C audit-checkpoints commit -qm checkpoint"}}},
        {.path = "export",
         .description = "Write the state the caller can see (with `--tenant`, that tenant's subtree) as resource "
                        "files, one folder per tenant: `DIR/<tenant>/tenant.yaml`, and where the tenant has them "
                        "`credentials.yaml` (references only, never secrets), `groups.yaml`, `devices.yaml`, "
                        "`artifacts.yaml` and `rollouts.yaml`. Artifacts keep the `spec.file` they were applied from "
                        "and their `sha256`; their bytes are not copied. `apply -f DIR -R` takes the folder back "
                        "with no changes. A non-empty folder is refused unless `--force`; with it, an earlier "
                        "export's files that the state no longer has are removed.",
         .examples = {{"Start a GitOps repository from a running store:",
                       "fleetadm export -d fleet/ && git -C fleet init && git -C fleet add . && "
                       "git -C fleet commit -m 'fleet as of today'"}}},
        {.path = "store migrate",
         .description = "Copy the whole store into an empty one: every tenant's objects with their bookkeeping, "
                        "sources and their commits, device status and outputs, rollout runtime (progress and leases), "
                        "the store revision, every audit log with its sequence numbers and hashes unchanged, and "
                        "every artifact's bytes, verified by SHA-256 as they are copied. It works between any two "
                        "stores: a local file to PostgreSQL when a team outgrows it, and back. The copy lands in one "
                        "transaction, whole or not at all; the original is only read. It needs admin on the provider "
                        "tenant. On PostgreSQL the caller is the database login: name it in the provider's "
                        "`spec.members` (the command warns when the copy does not).",
         .exit_status = {{"5", "The target store is not empty."}},
         .examples = {{"Move a local store to a shared PostgreSQL database and check the copy:",
                       "fleetadm store migrate --to postgresql://db.example.com/fleet\n"
                       "fleetadm --state postgresql://db.example.com/fleet audit verify -A"}}},
        {.path = "user",
         .description = "On a shared PostgreSQL store every person and CI bot is a database login of its own, and "
                        "the database enforces tenancy (row-level security, device limits, an append-only audit "
                        "log) whatever client the login uses. These commands decide which logins may connect; what "
                        "a login may see and do still comes from the tenants' `spec.members`. They need a provider "
                        "admin whose login has CREATEROLE. A local store has no logins: its caller is the OS user."},
        {.path = "user add",
         .description = "Let a database login use this store, creating the login when it does not exist. The "
                        "password is asked on the terminal or read from `--password-file`, and hashed (SCRAM) "
                        "before it is sent: it never reaches the server's statement log. An existing login keeps "
                        "its password.",
         .examples = {{"Add a customer's admin and give them their tenant:",
                       "fleetadm user add alice --password-file - < alice.pw\n"
                       "# then name alice in spec.members of tenant acme and apply"}}},
        {.path = "user remove",
         .description = "Take the store away from a login (it leaves the store's group role); `--drop-login` drops "
                        "the login from the server too. Entries in tenants' `spec.members` stay until removed."},
        {.path = "config set-context",
         .description = "Create or update a named context in *~/.config/fleetadm/config.yaml*. Options not given "
                        "keep their value. Flags and the environment win over the current context; a context "
                        "named with `--context` wins over `FLEETADM_STATE` and `FLEETADM_TENANT` (kubectl's order).",
         .examples = {{"A context for one customer's production tenant:",
                       "fleetadm config set-context acme --tenant acme-prod\nfleetadm config use-context acme"}}},
        {.path = "completion",
         .description = "Print the completion script for a shell. It completes commands, options, option values, "
                        "kinds and the names of objects in the store that the caller can see.",
         .examples = {{"Load it into the current bash, or install it for zsh or fish:",
                       "source <(fleetadm completion bash)\n"
                       "fleetadm completion zsh > \"${fpath[1]}/_fleetadm\"\n"
                       "fleetadm completion fish > ~/.config/fish/completions/fleetadm.fish"}}},
    };
    return table;
}

const Prose* prose_for(std::string_view path)
{
    for (const auto& p : prose())
        if (p.path == path) return &p;
    return nullptr;
}

const std::vector<OptionNote>& option_notes()
{
    static constexpr std::string_view files_note =
        "A file, a directory (its .yaml, .yml and .json files; with `-R` recursively) or `-` for standard input.";
    static const std::vector<OptionNote> notes = {
        {"", "--tenant", "The tenant of objects that name none, and the tenant get, describe, delete and the device "
                         "commands work in."},
        {"", "--output", "`-o yaml` output applies back unchanged; `-o csv` prints a table's columns as CSV."},
        {"validate", "--filename", files_note},
        {"diff", "--filename", files_note},
        {"plan", "--filename", files_note},
        {"apply", "--filename", files_note},
        {"delete", "--filename", files_note},
    };
    return notes;
}

std::string_view option_note(std::string_view path, std::string_view option)
{
    for (const auto& n : option_notes())
        if (n.path == path && n.option == option) return n.text;
    return {};
}

const std::vector<HintRule>& hint_rules()
{
    static const std::vector<HintRule> rules = {
        {"", "--tenant", ValueHint::tenant},
        {"", "--context", ValueHint::context},
        {"get", "kind", ValueHint::kind},
        {"get", "names", ValueHint::object},
        {"describe", "kind", ValueHint::kind},
        {"describe", "name", ValueHint::object},
        {"delete", "kind", ValueHint::kind},
        {"delete", "names", ValueHint::object},
        {"tenant tree", "root", ValueHint::tenant},
        {"device move", "names", ValueHint::device},
        {"device decommission", "names", ValueHint::device},
        {"config set-context", "name", ValueHint::context},
        {"config set-context", "--tenant", ValueHint::tenant},
        {"config use-context", "name", ValueHint::context},
        {"config delete-context", "name", ValueHint::context},
    };
    return rules;
}

namespace {

bool has_option(const CommandSpec& c, std::string_view option)
{
    for (const auto* list : {&c.options, &c.positionals})
        for (const auto& o : *list)
            if (o.main_name() == option) return true;
    return false;
}

} // namespace

std::vector<std::string> stale_entries(const CommandSpec& root)
{
    std::vector<std::string> out;
    for (const auto& p : prose())
        if (!root.find(std::string(p.path)))
            out.push_back(fmt::format("cmd/help_text.cpp: prose for \"{}\", which is no command", p.path));
    auto check = [&](std::string_view what, std::string_view path, std::string_view option) {
        const CommandSpec* c = root.find(std::string(path));
        if (!c || !has_option(*c, option))
            out.push_back(fmt::format("cmd/help_text.cpp: {} for \"{}\" of \"{}\", which has no such option", what,
                                      option, path));
    };
    for (const auto& n : option_notes()) check("note", n.path, n.option);
    for (const auto& h : hint_rules()) check("hint", h.path, h.option);
    return out;
}

} // namespace fleet::cli::help
