// The template engine: where a variable may stand in a shell command, and what it becomes there.
#include <catch2/catch.hpp>

#include "core/model/template.hpp"

using namespace fleet;

namespace {

model::TemplateValues hostile()
{
    model::TemplateValues v;
    v.values["artifact.path"] = "/tmp/$(touch${IFS}X)";
    v.values["device.name"] = "hvac-1";
    v.settings["x"] = "$(touch PWNED)";
    v.settings["y"] = "; touch PWNED #";
    v.settings["q"] = "it's \"quoted\" `id` \\";
    return v;
}

std::string render_shell(const std::string& text)
{
    auto r = model::render_template(text, hostile(), true);
    INFO(text);
    REQUIRE(r);
    return *r;
}

std::string refusal(const std::string& text)
{
    auto r = model::render_template(text, hostile(), true);
    INFO(text);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == util::ErrorKind::usage);
    CHECK_FALSE(model::check_template(text, true));
    return r.error().message;
}

} // namespace

TEST_CASE("templates: a shell value becomes a reference to a variable the prefix defines in single quotes",
          "[template]")
{
    CHECK(render_shell("echo {{tenant.settings.x}}") == "FLEET_V1='$(touch PWNED)'; echo \"${FLEET_V1}\"");
    // Inside double quotes the reference has no quotes of its own, so it stays one word.
    CHECK(render_shell("echo \"v={{tenant.settings.x}}!\"") == "FLEET_V1='$(touch PWNED)'; echo \"v=${FLEET_V1}!\"");
    // The same variable twice is defined once; single quotes in a value are closed and escaped.
    CHECK(render_shell("a {{tenant.settings.q}} {{device.name}} {{tenant.settings.q}}") ==
          "FLEET_V1='it'\\''s \"quoted\" `id` \\' FLEET_V2='hvac-1'; a \"${FLEET_V1}\" \"${FLEET_V2}\" \"${FLEET_V1}\"");
    // Inside $( ) (also within double quotes) the context is unquoted again.
    CHECK(render_shell("echo \"$(basename {{artifact.path}})\"") ==
          "FLEET_V1='/tmp/$(touch${IFS}X)'; echo \"$(basename \"${FLEET_V1}\")\"");
    // Single quotes that closed before the variable do not matter; nor do quotes in a comment.
    CHECK(render_shell("echo 'a' # don't\necho {{device.name}}") ==
          "FLEET_V1='hvac-1'; echo 'a' # don't\necho \"${FLEET_V1}\"");
    CHECK(render_shell("echo \\' {{device.name}}") == "FLEET_V1='hvac-1'; echo \\' \"${FLEET_V1}\"");
    // No variable, no prefix.
    CHECK(render_shell("mender commit") == "mender commit");
}

TEST_CASE("templates: a variable where no reference is safe is refused, naming it and its character", "[template]")
{
    auto single = refusal("echo '{{tenant.settings.y}}'");
    CHECK(single.find("{{tenant.settings.y}} at character 7 is inside single quotes") != std::string::npos);
    CHECK(refusal("echo $'{{device.name}}'").find("inside $'...'") != std::string::npos);
    CHECK(refusal("echo `cat {{device.name}}`").find("backquotes") != std::string::npos);
    CHECK(refusal("echo $(( {{device.name}} + 1 ))").find("arithmetic") != std::string::npos);
    CHECK(refusal("(( {{device.name}} > 1 ))").find("arithmetic") != std::string::npos);
    CHECK(refusal("echo ${x:-{{device.name}}}").find("${...}") != std::string::npos);
    CHECK(refusal("echo \\{{device.name}}").find("backslash") != std::string::npos);
    CHECK(refusal("echo \"\\{{device.name}}\"").find("backslash") != std::string::npos);
    CHECK(refusal("echo ${{device.name}}").find("after '$'") != std::string::npos);
    CHECK(refusal("echo \"it's\" '{{device.name}}").find("single quotes") != std::string::npos);
    // Out of the single quotes again, the same command is fine.
    CHECK(model::check_template("echo 'x' \"{{device.name}}\" {{device.name}}", true));
}

TEST_CASE("templates: control characters in values are refused in every context, in templates too", "[template]")
{
    for (std::string bad : {std::string("a\0b", 3), std::string("a\nb"), std::string("a\rb"), std::string("\x1b[2J"),
                            std::string("tab\there"), std::string("del\x7f")}) {
        model::TemplateValues v;
        v.settings["z"] = bad;
        for (bool shell : {true, false}) {
            auto r = model::render_template("run {{tenant.settings.z}}", v, shell);
            REQUIRE_FALSE(r);
            CHECK(r.error().message.find("control character") != std::string::npos);
            CHECK(r.error().message.find("tenant.settings.z") != std::string::npos);
        }
    }
    CHECK_FALSE(model::check_template(std::string("echo a\0b", 8), true));
    CHECK(model::check_template("set -e\n\tmender install {{artifact.path}}\n", true));
    // Plain text (paths, expectations) substitutes the value as it is.
    model::TemplateValues v = hostile();
    CHECK(model::render_template("/data/{{tenant.settings.x}}", v, false).value() == "/data/$(touch PWNED)");
}

TEST_CASE("templates: template_uses finds a variable", "[template]")
{
    CHECK(model::template_uses("/tmp/{{ artifact.path }}", "artifact.path"));
    CHECK_FALSE(model::template_uses("/tmp/{{device.name}}", "artifact.path"));
}
