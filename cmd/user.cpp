// fleetadm user add|remove|list: the database logins of a shared (PostgreSQL) store. What a login may
// do in which tenant still comes from the tenants' spec.members; these commands only decide who may
// connect at all.
#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "cmd/commands.hpp"

namespace fleet::cli {

namespace {

struct UserOptions {
    std::string name;
    std::string password_file;
    bool no_password = false;
    bool drop_login = false;
};

/// A password from a file ("-": standard input): its first line, without the line end.
util::Result<std::string> password_from(const std::string& path)
{
    std::string line;
    if (path == "-") {
        std::getline(std::cin, line);
    } else {
        std::ifstream in(path);
        if (!in) return util::fail(util::ErrorKind::usage, fmt::format("--password-file {}: cannot read it", path));
        std::getline(in, line);
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty())
        return util::fail(util::ErrorKind::usage, fmt::format("--password-file {}: the first line is empty", path));
    return line;
}

/// A password typed on the terminal, twice, without echo.
util::Result<std::string> password_prompt(const std::string& user)
{
    termios saved{};
    if (tcgetattr(STDIN_FILENO, &saved) != 0)
        return util::fail(util::ErrorKind::usage, "no terminal to ask for a password: give --password-file FILE "
                                                  "(- for standard input) or --no-password");
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    auto ask = [&](const char* prompt) {
        std::cerr << prompt << std::flush;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        std::string line;
        std::getline(std::cin, line);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        std::cerr << "\n";
        return line;
    };
    std::string first = ask(fmt::format("Password for {}: ", user).c_str());
    std::string second = ask("Again: ");
    if (first != second) return util::fail(util::ErrorKind::usage, "the two passwords differ: nothing was changed");
    if (first.empty()) return util::fail(util::ErrorKind::usage, "an empty password: nothing was changed");
    return first;
}

Outcome run_add(const UserOptions& opts, const Globals& g)
{
    if (opts.no_password && !opts.password_file.empty())
        return util::fail(util::ErrorKind::usage, "--password-file and --no-password exclude each other");
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    std::optional<std::string> password;
    if (!opts.password_file.empty()) {
        auto p = password_from(opts.password_file);
        if (!p) return std::unexpected(p.error());
        password = std::move(*p);
    } else if (!opts.no_password) {
        auto existing = (*store)->logins();  // also refuses a local store before asking for anything
        if (!existing) return std::unexpected(existing.error());
        auto p = password_prompt(opts.name);
        if (!p) return std::unexpected(p.error());
        password = std::move(*p);
    }
    auto created = (*store)->add_login(opts.name, password);
    if (!created) return std::unexpected(created.error());
    if (!g.quiet) {
        if (*created)
            std::cout << fmt::format("login \"{}\" created and added to this store; give it a role with spec.members "
                                     "of a tenant\n",
                                     opts.name);
        else
            std::cout << fmt::format("login \"{}\" added to this store (it existed: its password is unchanged); give it "
                                     "a role with spec.members of a tenant\n",
                                     opts.name);
    }
    return util::exit_ok;
}

Outcome run_remove(const UserOptions& opts, const Globals& g)
{
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    if (auto r = (*store)->remove_login(opts.name, opts.drop_login); !r) return std::unexpected(r.error());
    if (!g.quiet)
        std::cout << fmt::format("login \"{}\" {}; its entries in tenants' spec.members stay until you remove them\n",
                                 opts.name, opts.drop_login ? "removed from this store and dropped" : "removed from this store");
    return util::exit_ok;
}

Outcome run_list(const Globals& g)
{
    auto store = open_store(g);
    if (!store) return std::unexpected(store.error());
    auto logins = (*store)->logins();
    if (!logins) return std::unexpected(logins.error());
    if (g.format() == Format::json) {
        std::cout << nlohmann::json(*logins).dump(2) << "\n";
    } else {
        for (const auto& login : *logins) std::cout << login << "\n";
    }
    return util::exit_ok;
}

} // namespace

void setup_user(Context& ctx)
{
    auto* cmd = ctx.root.add_subcommand("user", "Manage the database logins of a shared (PostgreSQL) store");
    cmd->require_subcommand(1);
    auto opts = std::make_shared<UserOptions>();

    auto* add = cmd->add_subcommand("add", "Let a database login use this store, creating the login when missing "
                                           "(needs a provider admin whose login has CREATEROLE)");
    add->add_option("NAME", opts->name, "The database login")->required();
    add->add_option("--password-file", opts->password_file,
                    "Read the new login's password from the first line of FILE (- for standard input); without it "
                    "the password is asked on the terminal")
        ->type_name("FILE");
    add->add_flag("--no-password", opts->no_password,
                  "Create the login without a password (for certificate, peer or GSSAPI authentication)");
    add->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_add(*opts, g); }; });

    auto* remove = cmd->add_subcommand("remove", "Take this store away from a database login");
    remove->add_option("NAME", opts->name, "The database login")->required();
    remove->add_flag("--drop-login", opts->drop_login, "Drop the login from the server too");
    remove->callback([opts, &ctx] { ctx.runner = [opts, &g = ctx.globals] { return run_remove(*opts, g); }; });

    auto* list = cmd->add_subcommand("list", "List the database logins that may use this store");
    list->callback([&ctx] { ctx.runner = [&g = ctx.globals] { return run_list(g); }; });
}

} // namespace fleet::cli
